/* Host-side tests of the supervisor's pure parts: the byte queue and its credit, the flow-control
 * window, the handover state, SERVFAIL answers, the LOG bounds and the VMM stderr lines and tail.
 * The style of the guest agent's tests (guest/agent/test/check.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>

#include "../../../../guest/agent/test/check.h"
#include "../dnsmsg.h"
#include "../flow.h"
#include "../handover.h"
#include "../hostlog.h"
#include "../loglimit.h"
#include "../podlog.h"
#include "../portfwd.h"
#include "../queue.h"
#include "../teardown.h"
#include "../vmmlog.h"
#include "../wireio.h"

int failures;

static void tlv_u32(struct tlv_buf *b, uint16_t tag, uint32_t v)
{
	uint8_t x[4];
	wr_u32(x, v);
	tlv_add(b, tag, x, 4);
}

static uint32_t credited[2];
static void count_credit(void *ctx, int stream, uint32_t n)
{
	(void)ctx;
	credited[stream] += n;
}

static void queue_tests(void)
{
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	struct queue q = {0};
	CHECK(q_push_frame(&q, MSG_STDOUT, 7, "abc", 3, 0, 3) == 0);
	CHECK(q.bytes == FRAME_HDR + 3);
	CHECK(q_write(&q, p[1], count_credit, NULL) == 0);
	CHECK(q.bytes == 0 && credited[0] == 3);
	uint8_t got[64];
	CHECK(read(p[0], got, sizeof got) == FRAME_HDR + 3);
	CHECK(rd_u32(got) == 3 && got[4] == MSG_STDOUT && rd_u32(got + 8) == 7 &&
	      memcmp(got + FRAME_HDR, "abc", 3) == 0);

	/* A full pipe: the write stops, the credit waits until the chunk is taken. */
	static uint8_t big[256 * 1024];
	CHECK(q_push(&q, big, sizeof big, NULL, 0, 1, sizeof big) == 0);
	CHECK(q_write(&q, p[1], count_credit, NULL) == 0);
	CHECK(q.bytes > 0 && credited[1] == 0);
	/* The reader goes away: what it did not take is consumed, so the guest is not left waiting.
	 */
	q_clear(&q, count_credit, NULL);
	CHECK(q.bytes == 0 && credited[1] == sizeof big);
	close(p[0]);
	CHECK(q_push(&q, "x", 1, NULL, 0, -1, 0) == 0);
	CHECK(q_write(&q, p[1], NULL, NULL) == -1 && errno == EPIPE);
	q_clear(&q, NULL, NULL);
	close(p[1]);
}

static void window_tests(void)
{
	struct window w = {0};
	CHECK(win_receive(&w, STREAM_WINDOW) == 0);
	CHECK(win_receive(&w, 1) == -1); /* past the credit: a protocol error */
	CHECK(win_consume(&w, GRANT_BATCH - 1) == 0);
	CHECK(win_consume(&w, 1) == GRANT_BATCH);
	CHECK(win_receive(&w, GRANT_BATCH) == 0);
	CHECK(win_receive(&w, 1) == -1);
	struct window w2 = {0};
	CHECK(win_receive(&w2, STREAM_WINDOW + 1) == -1);
}

static void handover_tests(void)
{
	struct tlv_buf b = {0};
	struct handover h;
	char err[256];
	tlv_add_str(&b, HO_AGENT_SOCKET, "/run/runcvm/agent.sock");
	tlv_add(&b, HO_CONFIG, "\x01\x00\x00\x00\x00\x00", 6);
	tlv_add(&b, HO_START, "", 0);
	CHECK(handover_parse(b.data, b.len, &h, err, sizeof err) == -1 &&
	      strstr(err, "missing") != NULL);
	tlv_u32(&b, HO_VMM_PID, 1234);
	tlv_add_str(&b, HO_VMM_NAME, "qemu");
	tlv_u32(&b, HO_HELLO_TIMEOUT_MS, 1000);
	tlv_u32(&b, HO_STARTED_TIMEOUT_MS, 2000);
	tlv_u32(&b, HO_HELPER_PID, 1235);
	tlv_u32(&b, HO_FLAGS, HOF_TERMINAL | HOF_NET_WATCH);
	tlv_add_str(&b, HO_NET_SYNC_ARG, "/usr/bin/node");
	tlv_add_str(&b, HO_NET_SYNC_ARG, "--net-sync");
	CHECK(handover_parse(b.data, b.len, &h, err, sizeof err) == 0);
	CHECK(strcmp(h.agent_socket, "/run/runcvm/agent.sock") == 0 && h.vmm_pid == 1234 &&
	      h.nhelpers == 1 && h.helpers[0] == 1235 && h.config_len == 6 && h.start_len == 0 &&
	      h.flags == (HOF_TERMINAL | HOF_NET_WATCH) && h.nnet_sync == 2 &&
	      strcmp(h.net_sync[1], "--net-sync") == 0 && h.net_sync[2] == NULL);
	/* Truncated, unknown, a NUL inside a string, a PID that would signal a process group. */
	CHECK(handover_parse(b.data, b.len - 1, &h, err, sizeof err) == -1 &&
	      strstr(err, "truncated") != NULL);
	struct tlv_buf bad = b;
	tlv_u32(&bad, 99, 0);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
	bad = b;
	tlv_add(&bad, HO_VMM_NAME, "q\0emu", 5);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
	bad = b;
	tlv_u32(&bad, HO_HELPER_PID, 0);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);

	/* A pod VM's and a 9P container's records: pod log, PortForward, teardown commands. */
	struct tlv_buf pod = b;
	tlv_add_str(&pod, HO_POD_LOG, "/run/runcvm-pod-log/launcher.log");
	tlv_u32(&pod, HO_POD_LOG_BUDGET, 1000);
	tlv_u32(&pod, HO_PORT_FORWARD_PORT, 40000);
	tlv_add_str(&pod, HO_PORT_FORWARD_CLIENT, "/opt/runcvm/bin/runcvm-exec");
	tlv_add_str(&pod, HO_PORT_FORWARD_START, "AAAA");
	tlv_add(&pod, HO_STOP_CMD, "/usr/sbin/iptables\0-D\0INPUT", 27);
	tlv_add(&pod, HO_STOP_CMD, "ip\0link\0del\0tap-vol-1", 21);
	CHECK(handover_parse(pod.data, pod.len, &h, err, sizeof err) == 0);
	CHECK(strcmp(h.pod_log, "/run/runcvm-pod-log/launcher.log") == 0 &&
	      h.pod_log_budget == 1000 && h.port_forward_port == 40000 &&
	      strcmp(h.port_forward_start, "AAAA") == 0 && h.nstop_cmds == 2 &&
	      strcmp(h.stop_cmds[0][0], "/usr/sbin/iptables") == 0 &&
	      strcmp(h.stop_cmds[0][2], "INPUT") == 0 && h.stop_cmds[0][3] == NULL &&
	      strcmp(h.stop_cmds[1][3], "tap-vol-1") == 0 && h.stop_cmds[1][4] == NULL);
	/* An empty argument, a port out of range, PortForward without its client. */
	bad = b;
	tlv_add(&bad, HO_STOP_CMD, "ip\0\0del", 7);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
	bad = b;
	tlv_u32(&bad, HO_PORT_FORWARD_PORT, 70000);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
	bad = b;
	tlv_u32(&bad, HO_PORT_FORWARD_PORT, 40000);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1 &&
	      strstr(err, "PortForward") != NULL);
}

static void podlog_tests(void)
{
	char path[] = "/tmp/supervisor-test-podlog-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "launcher\n", 9) == 9 && close(fd) == 0);
	struct podlog p;
	CHECK(podlog_open(&p, path, 10) == 0);
	CHECK(podlog_copy(&p, "0123456", 7) == 0 && podlog_copy(&p, "789abc", 6) == 0);
	CHECK(podlog_copy(&p, "more", 4) == 0 && p.left == 0);
	podlog_close(&p);
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size == 9 + 10); /* appended, capped */
	/* A budget above the cap is the cap; a symlink is not followed. */
	CHECK(podlog_open(&p, path, 1u << 30) == 0 && p.left == POD_LOG_MAX);
	podlog_close(&p);
	char link[64];
	snprintf(link, sizeof link, "%s-link", path);
	CHECK(symlink(path, link) == 0);
	CHECK(podlog_open(&p, link, 10) == -1 && errno == ELOOP);
	unlink(link);
	unlink(path);
}

static void teardown_tests(void)
{
	char out[TEARDOWN_OUTPUT_MAX];
	char *const ok[] = {"sh", "-c", "echo gone; echo why >&2; exit 3", NULL};
	CHECK(teardown_run(ok, 5000, out, sizeof out) == 3 && strstr(out, "gone") &&
	      strstr(out, "why"));
	/* A hung command is killed at its deadline. */
	char *const hung[] = {"sleep", "30", NULL};
	CHECK(teardown_run(hung, 200, out, sizeof out) == 128 + SIGKILL);
	char *const none[] = {"/nonexistent/ip", NULL};
	CHECK(teardown_run(none, 5000, out, sizeof out) == 127);
	/* Output beyond the cap is cut, not waited on. */
	char small[8];
	char *const loud[] = {"sh", "-c", "yes | head -c 100000", NULL};
	CHECK(teardown_run(loud, 5000, small, sizeof small) == 0 && strlen(small) == 7);
	pid_t pids[2] = {fork(), 0};
	if (pids[0] == 0) {
		pause();
		_exit(0);
	}
	CHECK(teardown_kill(pids, 2) == 0 && pids[0] == 0);
}

static char pf_said[2048];
static void pf_report(const char *msg)
{
	snprintf(pf_said, sizeof pf_said, "%s", msg);
}

static void portfwd_tests(void)
{
	char client[] = "/tmp/supervisor-test-pf-XXXXXX";
	int fd = mkstemp(client);
	const char script[] = "#!/bin/sh\necho \"$RUNCVM_EXEC_PORT_OF_STDIN $RUNCVM_EXEC_START\"\n"
			      "echo '  no   such\n port ' >&2\nexit 3\n";
	CHECK(fd >= 0 && write(fd, script, sizeof script - 1) == (ssize_t)sizeof script - 1);
	CHECK(fchmod(fd, 0700) == 0 && close(fd) == 0);
	struct portfwd pf;
	/* A port of our own: bind 0, read it back, free it. */
	int probe = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	CHECK(bind(probe, (struct sockaddr *)&a, sizeof a) == 0 &&
	      getsockname(probe, (struct sockaddr *)&a, &al) == 0 && close(probe) == 0);
	CHECK(portfwd_open(&pf, ntohs(a.sin_port), client, "U1RBUlQ=", pf_report) == 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
	struct pollfd p = {pf.fd, POLLIN, 0};
	CHECK(poll(&p, 1, 5000) == 1);
	portfwd_accept(&pf);
	CHECK(pf.active == 1);
	/* The client got the connection itself: what it writes on stdout arrives here. */
	char got[64] = {0};
	ssize_t n = 0, r;
	while ((r = read(c, got + n, sizeof got - 1 - (size_t)n)) > 0)
		n += r;
	CHECK(strcmp(got, "1 U1RBUlQ=\n") == 0);
	int st;
	pid_t pid = waitpid(-1, &st, 0);
	CHECK(portfwd_reaped(&pf, pid, st) == 1 && pf.active == 0);
	CHECK(strcmp(pf_said, "port-forward stream ended with status 3: no such port") == 0);
	CHECK(portfwd_reaped(&pf, pid, st) == 0);
	close(c);
	/* Over the bound: closed at once, said once per hundred. */
	for (int i = 0; i < PF_MAX_STREAMS; i++)
		pf.s[i].pid = 1;
	pf_said[0] = 0;
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(poll(&p, 1, 5000) == 1);
	portfwd_accept(&pf);
	CHECK(read(c, got, sizeof got) == 0 && pf.refused == 1 && strstr(pf_said, "over 64"));
	close(c);
	for (int i = 0; i < PF_MAX_STREAMS; i++)
		pf.s[i].pid = 0;
	portfwd_close(&pf);
	CHECK(pf.fd == -1);
	unlink(client);
}

static void dns_tests(void)
{
	/* id 0x1234, RD, one question: example. A IN */
	const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0,	  1,   0,   0, 0, 0, 0, 0, 7,
			     'e',  'x',	 'a',  'm',  'p', 'l', 'e', 0, 0, 1, 0, 1, 0xaa};
	uint8_t out[64];
	size_t n = dns_servfail(q, sizeof q, out, sizeof out);
	CHECK(n == sizeof q - 1); /* the question echoed, the trailing byte not */
	CHECK(out[0] == 0x12 && out[1] == 0x34 && out[2] == 0x81 && out[3] == 0x82);
	CHECK(out[5] == 1 && out[7] == 0 && out[9] == 0 && out[11] == 0);
	CHECK(memcmp(out + 12, q + 12, n - 12) == 0);
	CHECK(dns_servfail(q, 11, out, sizeof out) == 0);
	/* A compression pointer in a query: header only, no question. */
	uint8_t p2[sizeof q];
	memcpy(p2, q, sizeof q);
	p2[12] = 0xc0;
	CHECK(dns_servfail(p2, sizeof p2, out, sizeof out) == 12 && out[5] == 0);
}

static void log_tests(void)
{
	struct loglimit l;
	log_init(&l, 0);
	int ok = 0;
	for (int i = 0; i < 100; i++)
		ok += log_admit(&l, 0, 0);
	CHECK(ok == LOG_BURST && l.dropped == 100 - LOG_BURST);
	CHECK(log_admit(&l, 1000, 0) == 1); /* refilled at LOG_RATE per second */
	CHECK(log_admit(&l, 1000, LOG_QUEUE_MAX + 1) == 0);
	char line[LOG_LINE_MAX + 64];
	size_t n = log_format(line, sizeof line, "runcvm-agent", (const uint8_t *)"a\nb\x1b[2J", 7);
	CHECK(n == strlen("runcvm-agent: a b [2J\n") &&
	      memcmp(line, "runcvm-agent: a b [2J\n", n) == 0);
	static uint8_t longline[5000];
	memset(longline, 'x', sizeof longline);
	n = log_format(line, sizeof line, "p", longline, sizeof longline);
	CHECK(n == 3 + LOG_LINE_MAX + 3 + 1 && line[n - 1] == '\n');
}

/* The host log after the handover: what the guest writes there is hostile. */
static void hostlog_tests(void)
{
	char dir[] = "/tmp/runcvm-hostlog-XXXXXX", path[128], target[128], buf[4096];
	CHECK(mkdtemp(dir) != NULL);
	struct hostlog h;

	/* A link planted where the log goes is never followed: the target stays empty. */
	snprintf(target, sizeof target, "%s/target", dir);
	snprintf(path, sizeof path, "%s/runcvm.log", dir);
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(symlink(target, path) == 0);
	hostlog_init(&h, dir, 0);
	hostlog_write(&h, 0, 0, "agent", "planted", 7);
	struct stat st;
	CHECK(h.failed && h.err[0] && stat(target, &st) == 0 && st.st_size == 0);
	hostlog_close(&h);
	CHECK(unlink(path) == 0 && unlink(target) == 0);

	/* Records: UTC time, source, text cut and cleaned of control characters. */
	hostlog_init(&h, dir, 0);
	hostlog_write(&h, 0, 1764720000123LL, "agent", "a\x1b[2Jb\nc", 8);
	char longline[3000];
	memset(longline, 'y', sizeof longline);
	hostlog_write(&h, 0, 0, "agent", longline, sizeof longline);
	hostlog_close(&h);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, sizeof buf - 1);
	CHECK(n > 0 && close(fd) == 0);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strncmp(buf, "2025-12-03T00:00:00.123Z agent: a [2Jb c\n", 41) == 0);
	char *second = strchr(buf, '\n') + 1;
	CHECK(strlen(second) == 25 + 7 + HOSTLOG_LINE_MAX + 3 + 1);

	/* A burst beyond the bucket is dropped and counted in the next written line. */
	hostlog_init(&h, dir, 0);
	for (int i = 0; i < HOSTLOG_BURST + 10; i++)
		hostlog_write(&h, 0, 0, "agent", "x", 1);
	CHECK(h.dropped == 10);
	hostlog_write(&h, 1000, 0, "agent", "later", 5);
	CHECK(h.dropped == 0 && !h.failed);
	hostlog_close(&h);

	/* Rotation at HOSTLOG_MAX_BYTES: runcvm.log.1 appears, the live file starts small again. */
	hostlog_init(&h, dir, 0);
	long long now = 0;
	for (int i = 0; i < 1200; i++, now += 1000)
		hostlog_write(&h, now, 0, "agent", longline, HOSTLOG_LINE_MAX);
	hostlog_close(&h);
	snprintf(target, sizeof target, "%s/runcvm.log.1", dir);
	CHECK(stat(target, &st) == 0 && st.st_size <= HOSTLOG_MAX_BYTES);
	CHECK(stat(path, &st) == 0 && st.st_size < HOSTLOG_MAX_BYTES);
	CHECK(!h.failed);
	for (int i = 0; i <= 2; i++) {
		if (i)
			snprintf(path, sizeof path, "%s/runcvm.log.%d", dir, i);
		else
			snprintf(path, sizeof path, "%s/runcvm.log", dir);
		unlink(path);
	}
	CHECK(rmdir(dir) == 0);
}

/* The VMM's stderr after the handover: lines split across reads, an endless line cut at a
 * record's size, what is held flushed at the end, and a tail that keeps the newest bytes. */
static char vl_seen[8][HOSTLOG_LINE_MAX + 1];
static int vl_n;
static void vl_line(void *ctx, const char *source, const char *text, size_t len)
{
	(void)ctx;
	CHECK(strcmp(source, "qemu") == 0);
	if (vl_n < 8) {
		memcpy(vl_seen[vl_n], text, len);
		vl_seen[vl_n][len] = 0;
	}
	vl_n++;
}

static void vmmlog_tests(void)
{
	struct vmmlog_src s = {.source = "qemu", .fd = -1};
	vmmlog_feed(&s, "qemu-system: warn", 17, vl_line, NULL);
	CHECK(vl_n == 0);
	vmmlog_feed(&s, "ing\nsecond\n\nthird", 19, vl_line, NULL);
	CHECK(vl_n == 3);
	CHECK(strcmp(vl_seen[0], "qemu-system: warning") == 0);
	CHECK(strcmp(vl_seen[1], "second") == 0);
	CHECK(strcmp(vl_seen[2], "") == 0);
	vmmlog_flush(&s, vl_line, NULL);
	CHECK(vl_n == 4 && strcmp(vl_seen[3], "third") == 0);
	vmmlog_flush(&s, vl_line, NULL);
	CHECK(vl_n == 4);

	static char big[HOSTLOG_LINE_MAX * 2 + 10];
	memset(big, 'x', sizeof big);
	vl_n = 0;
	vmmlog_feed(&s, big, sizeof big, vl_line, NULL);
	CHECK(vl_n == 2);
	CHECK(strlen(vl_seen[0]) == HOSTLOG_LINE_MAX);
	CHECK(s.plen == 10);
	vmmlog_feed(&s, "\n", 1, vl_line, NULL);
	CHECK(vl_n == 3 && strlen(vl_seen[2]) == 10);
	/* A line of exactly a record's size is one record, with its newline in the next read. */
	vmmlog_feed(&s, big, HOSTLOG_LINE_MAX, vl_line, NULL);
	CHECK(vl_n == 3);
	vmmlog_feed(&s, "\nnext\n", 6, vl_line, NULL);
	CHECK(vl_n == 5 && strlen(vl_seen[3]) == HOSTLOG_LINE_MAX &&
	      strcmp(vl_seen[4], "next") == 0);

	static struct vmmlog_tail t;
	char out[VMMLOG_TAIL_MAX + 1];
	vmmlog_tail_push(&t, "\n  early\n", 9);
	CHECK(vmmlog_tail_text(&t, out, sizeof out) == 5 && strcmp(out, "early") == 0);
	static char many[VMMLOG_TAIL_MAX + 100];
	memset(many, 'a', sizeof many);
	memcpy(many + sizeof many - 4, "last", 4);
	for (size_t i = 0; i < sizeof many; i += 7)
		vmmlog_tail_push(&t, many + i, sizeof many - i < 7 ? sizeof many - i : 7);
	CHECK(vmmlog_tail_text(&t, out, sizeof out) == VMMLOG_TAIL_MAX);
	CHECK(memcmp(out + VMMLOG_TAIL_MAX - 4, "last", 4) == 0);
	vmmlog_tail_push(&t, many, sizeof many);
	CHECK(vmmlog_tail_text(&t, out, 9) == 8 && strcmp(out, "aaaalast") == 0);
}

void vmstart_test_all(void);  /* vmstart_test.c */
void netwatch_test_all(void); /* netwatch_test.c */

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	queue_tests();
	window_tests();
	handover_tests();
	podlog_tests();
	teardown_tests();
	portfwd_tests();
	dns_tests();
	log_tests();
	hostlog_tests();
	vmmlog_tests();
	vmstart_test_all();
	netwatch_test_all();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	puts("ok");
	return 0;
}
