/* The start plan's records (startplan.c) and the supervisor's own spawning of virtiofsd and QEMU
 * (vmstart.c): real processes (/bin/sh standing in for the binaries), real sockets, real pipes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../../guest/agent/test/check.h"
#include "../handover.h"
#include "../startplan.h"
#include "../vmstart.h"

extern int failures;

static void u32rec(struct tlv_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	tlv_add(b, tag, x, 4);
}

/* The records create writes (src/launcher/start-plan.ts): the handover's without pids, then the
 * start's. */
static void plan_records(struct tlv_buf *b)
{
	tlv_add_str(b, HO_AGENT_SOCKET, "/run/runcvm/agent.sock");
	tlv_add(b, HO_CONFIG, "\x01\x00\x00\x00\x00\x00", 6);
	tlv_add(b, HO_START, "", 0);
	tlv_add_str(b, HO_VMM_NAME, "qemu");
	u32rec(b, HO_HELLO_TIMEOUT_MS, 1000);
	u32rec(b, HO_STARTED_TIMEOUT_MS, 2000);
	u32rec(b, HO_FLAGS, HOF_NET_WATCH | HOF_CONSOLE_STDERR);
	tlv_add_str(b, HO_TIMING, "{\"createStartMs\":1}");
	tlv_add_str(b, HO_FS_ARG, "/usr/lib/qemu/virtiofsd");
	tlv_add_str(b, HO_FS_ARG, "--socket-path=/run/runcvm/fs-root.sock");
	tlv_add_str(b, HO_FS_SOCKET, "/run/runcvm/fs-root.sock");
	tlv_add_str(b, HO_VMM_ARG, "/usr/bin/qemu-system-x86_64");
	tlv_add_str(b, HO_VMM_ARG, "-M");
	tlv_add_str(b, HO_VMM_ARG, "microvm");
	tlv_add_str(b, HO_START_LINE, "starting: qemu (tcg), 1 vCPU(s), 512 MiB, root virtiofs");
}

static void startplan_tests(void)
{
	static struct tlv_buf b;
	static struct startplan p;
	struct handover h;
	char err[256];
	b.len = 0;
	plan_records(&b);
	/* The handover parser takes the plan without pids, and only because it is a plan. */
	CHECK(handover_parse(b.data, b.len, &h, err, sizeof err) == 0 && h.start_plan == 1 &&
	      h.vmm_pid == 0 && (h.flags & HOF_CONSOLE_STDERR));
	CHECK(startplan_parse(b.data, b.len, &p, err, sizeof err) == 0);
	CHECK(p.nfs == 2 && p.nvmm == 3 && strcmp(p.vmm_argv[2], "microvm") == 0 &&
	      p.vmm_argv[3] == NULL && p.fs_argv[2] == NULL &&
	      strcmp(p.fs_socket, "/run/runcvm/fs-root.sock") == 0 &&
	      strncmp(p.start_line, "starting: qemu", 14) == 0);
	/* Truncated; a word with a NUL; an empty word; a relative binary; virtiofsd without socket.
	 */
	CHECK(startplan_parse(b.data, b.len - 1, &p, err, sizeof err) == -1 &&
	      strstr(err, "truncated") != NULL);
	static struct tlv_buf bad;
	bad = b;
	tlv_add(&bad, HO_VMM_ARG, "a\0b", 3);
	CHECK(startplan_parse(bad.data, bad.len, &p, err, sizeof err) == -1);
	bad = b;
	tlv_add(&bad, HO_VMM_ARG, "", 0);
	CHECK(startplan_parse(bad.data, bad.len, &p, err, sizeof err) == -1);
	bad.len = 0;
	tlv_add_str(&bad, HO_VMM_ARG, "qemu-system-x86_64");
	CHECK(startplan_parse(bad.data, bad.len, &p, err, sizeof err) == -1 &&
	      strstr(err, "absolute") != NULL);
	bad.len = 0;
	tlv_add_str(&bad, HO_VMM_ARG, "/q");
	tlv_add_str(&bad, HO_FS_ARG, "/v");
	CHECK(startplan_parse(bad.data, bad.len, &p, err, sizeof err) == -1 &&
	      strstr(err, "socket") != NULL);
	/* More words than the plan holds. */
	bad.len = 0;
	for (int i = 0; i <= STARTPLAN_VMM_ARGS; i++)
		tlv_add_str(&bad, HO_VMM_ARG, "/q");
	CHECK(startplan_parse(bad.data, bad.len, &p, err, sizeof err) == -1);
	/* Without a plan, a state with no VMM pid is still refused (handover.c). */
	bad.len = 0;
	tlv_add_str(&bad, HO_AGENT_SOCKET, "/a");
	tlv_add(&bad, HO_CONFIG, "x", 1);
	tlv_add(&bad, HO_START, "", 0);
	tlv_add_str(&bad, HO_VMM_NAME, "qemu");
	u32rec(&bad, HO_HELLO_TIMEOUT_MS, 1);
	u32rec(&bad, HO_STARTED_TIMEOUT_MS, 1);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
}

static void startplan_read_tests(const char *dir)
{
	char path[256], err[256];
	uint8_t *buf;
	size_t len;
	snprintf(path, sizeof path, "%s/plan", dir);
	CHECK(startplan_read(path, 1024, &buf, &len, err, sizeof err) == 0);
	FILE *f = fopen(path, "w");
	CHECK(f && fputs("abc", f) >= 0 && fclose(f) == 0);
	CHECK(startplan_read(path, 1024, &buf, &len, err, sizeof err) == 1 && len == 3 &&
	      memcmp(buf, "abc", 3) == 0);
	free(buf);
	/* Read once: the file is gone, so a restarted supervisor never starts the VM twice. */
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	f = fopen(path, "w");
	CHECK(f && fputs("abcdef", f) >= 0 && fclose(f) == 0);
	CHECK(startplan_read(path, 4, &buf, &len, err, sizeof err) == -1 &&
	      strstr(err, "regular file of 1 to 4 bytes") != NULL);
	CHECK(unlink(path) == 0 && symlink("/etc/hostname", path) == 0);
	CHECK(startplan_read(path, 1024, &buf, &len, err, sizeof err) == -1);
	CHECK(unlink(path) == 0);
}

static void vmstart_tests(const char *dir)
{
	sigset_t none;
	sigemptyset(&none);
	char sock[200], err[512], script[400];
	snprintf(sock, sizeof sock, "%s/fs.sock", dir);
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);

	/* A helper running while its socket appears (bound here, as virtiofsd would bind it). */
	char *sleeper[] = {"/bin/sh", "-c", "sleep 5", NULL};
	pid_t pid = vmstart_spawn(sleeper, -1, p[1], &none, err, sizeof err);
	CHECK(pid > 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	CHECK(strlen(sock) < sizeof a.sun_path);
	memcpy(a.sun_path, sock, strlen(sock) + 1);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(vmstart_wait_socket(pid, sock, p[0], 1000, err, sizeof err) == 0);
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, NULL, 0) == pid);
	close(s);
	unlink(sock);

	/* It dies first: its status and what it said on stderr, and it is reaped. */
	char *dies[] = {"/bin/sh", "-c", "echo 'fuse: bad mount point' >&2; exit 3", NULL};
	pid = vmstart_spawn(dies, -1, p[1], &none, err, sizeof err);
	CHECK(pid > 0);
	CHECK(vmstart_wait_socket(pid, sock, p[0], 5000, err, sizeof err) == -1 &&
	      strstr(err, "exited (status 3)") != NULL &&
	      strstr(err, "fuse: bad mount point") != NULL);
	CHECK(waitpid(pid, NULL, WNOHANG) == -1 && errno == ECHILD);

	/* It never makes one: bounded. */
	pid = vmstart_spawn(sleeper, -1, p[1], &none, err, sizeof err);
	CHECK(vmstart_wait_socket(pid, sock, p[0], 50, err, sizeof err) == -1 &&
	      strstr(err, "no socket") != NULL && strstr(err, "50 ms") != NULL);
	CHECK(kill(pid, SIGKILL) == 0 && waitpid(pid, NULL, 0) == pid);

	/* The child sees stdin on /dev/null, stderr on the pipe, stdout where asked, and no other
	 * descriptor (the supervisor's pipes, the signal pipe): fds 3.. are closed. */
	int out[2];
	CHECK(pipe2(out, O_CLOEXEC) == 0);
	int leak = dup(p[0]); /* not close-on-exec: would be inherited without the close */
	snprintf(script, sizeof script,
		 "read x || echo stdin-empty; echo to-stderr >&2; ls /proc/self/fd | tr '\\n' ' '");
	char *probe[] = {"/bin/sh", "-c", script, NULL};
	pid = vmstart_spawn(probe, out[1], p[1], &none, err, sizeof err);
	CHECK(pid > 0 && waitpid(pid, NULL, 0) == pid);
	close(out[1]);
	char got[256] = {0};
	ssize_t n = read(out[0], got, sizeof got - 1);
	CHECK(n > 0 && strstr(got, "stdin-empty") != NULL);
	/* ls itself opens one directory descriptor (3); nothing from the parent above it. */
	CHECK(strstr(got, "0 1 2 3 ") != NULL && strstr(got, " 4 ") == NULL);
	char e[256] = {0};
	CHECK(read(p[0], e, sizeof e - 1) > 0 && strstr(e, "to-stderr") != NULL);
	close(leak);
	close(out[0]);

	/* A binary that cannot be executed: the child says so on its stderr and exits 127. */
	char *missing[] = {"/nonexistent/qemu", NULL};
	pid = vmstart_spawn(missing, -1, p[1], &none, err, sizeof err);
	int st;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 127);
	memset(e, 0, sizeof e);
	CHECK(read(p[0], e, sizeof e - 1) > 0 && strstr(e, "exec /nonexistent/qemu") != NULL);
	close(p[0]);
	close(p[1]);
}

void vmstart_test_all(void)
{
	char dir[] = "/tmp/runcvm-vmstart-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	startplan_tests();
	startplan_read_tests(dir);
	vmstart_tests(dir);
	CHECK(rmdir(dir) == 0);
}
