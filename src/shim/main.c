/*
 * containerd-shim-runcvm-v2: the shim containerd starts for the CRI runtime handler runcvm
 * (its runtime_type in containerd's config; docs/engines.md, "ContainerStats"). It is
 * containerd's own runc shim (containerd-shim-runc-v2, with runcvm-runtime as its runc) plus a
 * small ttrpc proxy in front of it that answers Task.Stats for the containers of a pod VM from
 * the guest; everything else reaches the runc shim unchanged.
 *
 * - `start` (containerd runs it in the task's bundle): runs the runc shim's start, which prints
 *   its socket's address (one runc shim per pod), then serves a socket of its own next to it
 *   (the same path + ".runcvm") with a proxy process that lives as long as that runc shim,
 *   prints that address instead and writes it to the bundle's `address` file (what containerd
 *   reconnects to after a restart). A second task of the same pod finds the proxy there.
 *   The handler's runtime_type names this binary (containerd 1.6's CRI ignores runtime_path),
 *   so the CRI sends generic options: the proxy makes each Task.Create's options the runc
 *   shim's, with runcvm-runtime (this binary's sibling) as the runc (create.h).
 * - every other command (`delete`, the shim's own daemon): the runc shim, exec'd unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pb.h"
#include "proxy.h"
#include "stats.h"
#include "ttrpc.h"
#include "unixsock.h"

#define RUNC_SHIM      "containerd-shim-runc-v2"
#define SUFFIX	       ".runcvm"
#define RUNCVM_RUNTIME "runcvm-runtime"
/* What a shim's start prints: one address. */
#define START_OUT_MAX 4096

static const char *runc_shim(char *buf, size_t cap)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 && p[0] == '/' &&
		    snprintf(buf, cap, "%.*s/" RUNC_SHIM, (int)n, p) < (int)cap &&
		    access(buf, X_OK) == 0)
			return buf;
		p += n + (p[n] == ':');
	}
	return NULL;
}

/* The first argument that is not a flag or a flag's value: containerd passes Go-style flags
 * (-namespace NS -address A -publish-binary B -id ID [-debug] [-bundle DIR]) then the command. */
static const char *action(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			return a;
		const char *name = a + (a[1] == '-' ? 2 : 1);
		if (strchr(name, '=') || strcmp(name, "debug") == 0 || strcmp(name, "v") == 0)
			continue;
		i++; /* the flag's value */
	}
	return "";
}

static int bind_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, strlen(path));
	for (int attempt = 0; attempt < 2; attempt++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			if (chmod(path, 0600) != 0 || listen(fd, 64) != 0) {
				int e = errno;
				close(fd);
				unlink(path);
				errno = e;
				return -1;
			}
			return fd;
		}
		int e = errno;
		close(fd);
		if (e != EADDRINUSE) {
			errno = e;
			return -1;
		}
		/* In use: a live proxy (another task of this pod got there first), or a stale
		 * socket file of a dead one. */
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0)
			return -1;
		int live = connect(c, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(c);
		if (live)
			return -2;
		if (unlink(path) != 0 && errno != ENOENT)
			return -1;
	}
	errno = EADDRINUSE;
	return -1;
}

/* Replaces the bundle's address file atomically. */
static int write_address(const char *addr)
{
	int fd = open("address.runcvm-tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(addr);
	ssize_t w = write(fd, addr, n);
	int e = errno;
	if (close(fd) != 0 || w != (ssize_t)n) {
		unlink("address.runcvm-tmp");
		errno = w != (ssize_t)n ? e : errno;
		return -1;
	}
	return rename("address.runcvm-tmp", "address");
}

/* Runs the runc shim's start with our arguments; its stdout (the address) into out. Its exit
 * status, or -1. */
static int run_start(const char *shim, char **argv, char *out, size_t cap)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		argv[0] = (char *)shim;
		execv(shim, argv);
		fprintf(stderr, "runcvm-shim: exec %s: %s\n", shim, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(p[0], out + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == cap - 1)
			break;
	}
	out[got] = 0;
	close(p[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* runcvm-runtime next to this binary (an install puts both in <prefix>/bin): the runc the runc
 * shim runs for this handler (create.h). */
static int runc_binary(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	if (n <= 0 || (size_t)n >= cap - 1)
		return -1;
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof "/" RUNCVM_RUNTIME > cap)
		return -1;
	strcpy(slash + 1, RUNCVM_RUNTIME);
	return access(buf, X_OK);
}

static int serve(const char *shim, char **argv, char *out, size_t cap)
{
	char runc[PATH_MAX];
	/* Without it the runc shim would run the host's runc: refuse instead. */
	if (runc_binary(runc, sizeof runc) != 0) {
		fprintf(stderr, "runcvm-shim: no executable " RUNCVM_RUNTIME " next to %s\n",
			argv[0]);
		return 1;
	}
	int rc = run_start(shim, argv, out, cap);
	if (rc != 0) {
		/* containerd reports what the runc shim said. */
		fputs(out, stdout);
		fprintf(stderr, "runcvm-shim: %s start failed (status %d)\n", RUNC_SHIM, rc);
		out[0] = 0; /* no runc shim to shut down */
		return rc < 0 ? 1 : rc;
	}
	out[strcspn(out, "\r\n")] = 0;
	const char *upstream = strncmp(out, "unix://", 7) == 0 ? out + 7 : NULL;
	char own[sizeof(((struct sockaddr_un *)0)->sun_path)];
	/* An address this shim cannot put a proxy in front of (abstract, too long): containerd
	 * talks to the runc shim directly, and ContainerStats reports the host's figures. */
	if (!upstream || upstream[0] != '/' ||
	    snprintf(own, sizeof own, "%s" SUFFIX, upstream) >= (int)sizeof own) {
		/* Without the proxy, Task.Create would reach the runc shim with options that do
		 * not name runcvm-runtime: refuse rather than run the host's runc. */
		fprintf(stderr, "runcvm-shim: cannot serve a socket next to %s\n", out);
		return 1;
	}
	int lfd = bind_listen(own);
	if (lfd == -1) {
		fprintf(stderr, "runcvm-shim: listen on %s: %s\n", own, strerror(errno));
		return 1;
	}
	char addr[sizeof own + 8];
	snprintf(addr, sizeof addr, "unix://%s", own);
	if (lfd >= 0) {
		int watch = unix_dial(upstream);
		int nsdir = open("..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (watch < 0 || nsdir < 0) {
			fprintf(stderr, "runcvm-shim: watch the runc shim at %s: %s\n", upstream,
				strerror(errno));
			close(lfd);
			unlink(own);
			return 1;
		}
		/* containerd's shim log (a fifo it reads), for the proxy's errors. */
		int log_fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		pid_t pid = fork();
		if (pid < 0) {
			perror("runcvm-shim: fork");
			close(lfd);
			unlink(own);
			return 1;
		}
		if (pid == 0) {
			/* The proxy: its own session, no tie to containerd's pipe (containerd
			 * waits for start's output to end). */
			int null = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
				_exit(1);
			if (setsid() < 0 || chdir("/") != 0)
				_exit(1);
			signal(SIGPIPE, SIG_IGN);
			struct proxy_cfg cfg = {.listen_fd = lfd,
						.upstream = upstream,
						.watch_fd = watch,
						.nsdir = nsdir,
						.log_fd = log_fd,
						.runc_binary = runc};
			int r = proxy_run(&cfg);
			unlink(own);
			_exit(r == 0 ? 0 : 1);
		}
		close(lfd);
		close(watch);
		close(nsdir);
		if (log_fd >= 0)
			close(log_fd);
	}
	if (write_address(addr) != 0) {
		fprintf(stderr, "runcvm-shim: write the bundle's address file: %s\n",
			strerror(errno));
		return 1;
	}
	fputs(addr, stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The value of flag -name in argv, or NULL. */
static const char *flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i] + 1 + (argv[i][1] == '-'), name) == 0)
			return argv[i + 1];
	return NULL;
}

/* After a start that failed past the runc shim's own start: asks that runc shim to shut down
 * (Task.Shutdown, not forced: a runc shim still serving other tasks of the pod stays), so a
 * failed start leaves no runc shim behind. Best effort, bounded to 2 s. */
static void shutdown_runc_shim(const char *path, const char *id)
{
	uint8_t req[256], frame[TTRPC_HDR + 512];
	struct pb_out r = {.p = req, .cap = sizeof req};
	pb_str(&r, 1, id);
	struct pb_out m = {.p = frame + TTRPC_HDR, .cap = sizeof frame - TTRPC_HDR};
	pb_str(&m, 1, TASK_SERVICE);
	pb_str(&m, 2, "Shutdown");
	pb_bytes(&m, 3, req, r.len);
	if (r.err || m.err)
		return;
	ttrpc_hdr_write(frame, &(struct ttrpc_hdr){
				       .len = (uint32_t)m.len, .stream = 1, .type = TTRPC_REQUEST});
	int fd = unix_dial(path);
	if (fd < 0)
		return;
	if (write(fd, frame, TTRPC_HDR + m.len) == (ssize_t)(TTRPC_HDR + m.len)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 2000) > 0 && read(fd, frame, sizeof frame) < 0)
			fprintf(stderr, "runcvm-shim: shutdown of the runc shim: %s\n",
				strerror(errno));
	}
	close(fd);
}

static int start(const char *shim, int argc, char **argv)
{
	char out[START_OUT_MAX] = "";
	int rc = serve(shim, argv, out, sizeof out);
	const char *id = flag(argc, argv, "id");
	/* out holds the runc shim's address once its start succeeded. */
	if (rc != 0 && id && strncmp(out, "unix:///", 8) == 0)
		shutdown_runc_shim(out + 7, id);
	return rc;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *shim = runc_shim(path, sizeof path);
	if (!shim) {
		fprintf(stderr, "runcvm-shim: %s not found in PATH\n", RUNC_SHIM);
		return 1;
	}
	if (strcmp(action(argc, argv), "start") == 0)
		return start(shim, argc, argv);
	argv[0] = (char *)shim;
	execv(shim, argv);
	fprintf(stderr, "runcvm-shim: exec %s: %s\n", shim, strerror(errno));
	return 1;
}
