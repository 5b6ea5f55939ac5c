/* The supervisor's Firecracker side against real Unix-socket peers (a forked process listening on
 * a path, as Firecracker does): the vsock CONNECT/OK handshake (fcvsock.c) with the answers
 * Firecracker gives and the ones a broken or hostile peer could give, the API request that powers
 * the guest off (fcapi.c), and the handover records that name them (handover.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../../../guest/agent/test/check.h"
#include "../fcapi.h"
#include "../fcvsock.h"
#include "../handover.h"
#include "../wireio.h"

int failures;

static char dir[64];
static char sock_path[108];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the peer does with one accepted connection (its number, from 1). */
typedef void (*behaviour)(int conn, int nth);

/* Reads up to the first newline (at most cap-1 bytes): what the client asked. */
static size_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap - 1 && read(fd, buf + n, 1) == 1)
		if (buf[n++] == '\n')
			break;
	buf[n] = 0;
	return n;
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			_exit(3);
		s += w;
		n -= (size_t)w;
	}
}

/* A peer listening on sock_path that serves `conns` connections with b, then exits 0; it exits
 * 2 when the client's request was not `CONNECT 1024`. */
static pid_t peer(behaviour b, int conns)
{
	unlink(sock_path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 8) != 0) {
		perror("fc_test: peer");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fc_test: fork");
		exit(1);
	}
	if (pid == 0) {
		for (int i = 1; i <= conns; i++) {
			int c = accept(l, NULL, NULL);
			if (c < 0)
				_exit(1);
			b(c, i);
			close(c);
		}
		_exit(0);
	}
	close(l);
	return pid;
}

/* The peer's exit status; a peer still running (silent on purpose) is ended first. */
static int peer_done(pid_t pid, int kill_it)
{
	int st;
	if (kill_it)
		kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_connect(int c)
{
	char req[64];
	read_line(c, req, sizeof req);
	if (strcmp(req, "CONNECT 1024\n") != 0)
		_exit(2);
}

/* Firecracker once the guest listens: OK, and the guest's first bytes in the same write. */
static void answers_ok(int c, int nth)
{
	(void)nth;
	expect_connect(c);
	write_all(c, "OK 1073741825\nHELLO", 19);
	/* Until the client closes (a reset when it left bytes unread): it sends nothing more. */
	char b;
	if (read(c, &b, 1) > 0)
		_exit(4);
}

/* Firecracker while the guest does not listen yet: it closes the stream. */
static void refuses(int c, int nth)
{
	(void)nth;
	expect_connect(c);
}

static void silent(int c, int nth)
{
	(void)nth;
	expect_connect(c);
	pause();
}

static void overlong(int c, int nth)
{
	(void)nth;
	expect_connect(c);
	char junk[200];
	memset(junk, 'A', sizeof junk);
	write_all(c, junk, sizeof junk);
	char b;
	if (read(c, &b, 1) > 0)
		_exit(4);
}

/* Closes half-way through its answer. */
static void closes_mid_line(int c, int nth)
{
	(void)nth;
	expect_connect(c);
	write_all(c, "OK 10", 5);
}

static void refuses_with_text(int c, int nth)
{
	(void)nth;
	expect_connect(c);
	write_all(c, "ERR no\x01\n", 8);
}

/* Refuses twice, then answers, as a guest that starts listening a moment after boot. */
static void refuses_twice(int c, int nth)
{
	if (nth < 3)
		return refuses(c, nth);
	answers_ok(c, nth);
}

/* The VMM ends while the caller waits: gone from the second check on. */
static int gone_second_time(void *ctx)
{
	return ++*(int *)ctx >= 2;
}

static void vsock_tests(void)
{
	char err[256];
	int fd;

	/* The OK line is taken, nothing after it: the guest's first frame stays in the stream. */
	pid_t p = peer(answers_ok, 1);
	CHECK(fcvsock_connect_once(sock_path, 1024, 2000, &fd, err, sizeof err) == FCV_CONNECTED);
	char rest[8] = {0};
	size_t got = 0;
	while (fd >= 0 && got < 5) {
		ssize_t n = read(fd, rest + got, 5 - got);
		if (n < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	CHECK(got == 5 && memcmp(rest, "HELLO", 5) == 0);
	CHECK(fd > 2 && close(fd) == 0);
	CHECK(peer_done(p, 0) == 0);

	/* A refusal (the guest does not listen yet): retried, with the reason. */
	p = peer(refuses, 1);
	CHECK(fcvsock_connect_once(sock_path, 1024, 2000, &fd, err, sizeof err) == FCV_RETRY);
	CHECK(fd == -1 && strstr(err, "closed before OK") && strstr(err, sock_path));
	CHECK(peer_done(p, 0) == 0);

	/* A peer that never answers: the attempt ends at its bound and is retried. */
	p = peer(silent, 1);
	long long t0 = now_ms();
	CHECK(fcvsock_connect_once(sock_path, 1024, 200, &fd, err, sizeof err) == FCV_RETRY);
	long long took = now_ms() - t0;
	CHECK(took >= 190 && took < 2000);
	CHECK(strstr(err, "no answer to CONNECT") != NULL);
	peer_done(p, 1);

	/* An overlong line is not Firecracker: no retry, and at most FCVSOCK_LINE_MAX bytes read.
	 */
	p = peer(overlong, 1);
	CHECK(fcvsock_connect_once(sock_path, 1024, 2000, &fd, err, sizeof err) == FCV_FATAL);
	CHECK(fd == -1 && strstr(err, "without a newline") != NULL);
	CHECK(peer_done(p, 0) == 0);

	/* Closed in the middle of the answer: as a refusal. */
	p = peer(closes_mid_line, 1);
	CHECK(fcvsock_connect_once(sock_path, 1024, 2000, &fd, err, sizeof err) == FCV_RETRY);
	CHECK(strstr(err, "closed before OK") != NULL);
	CHECK(peer_done(p, 0) == 0);

	/* Any other answer: fatal, shown printable. */
	p = peer(refuses_with_text, 1);
	CHECK(fcvsock_connect_once(sock_path, 1024, 2000, &fd, err, sizeof err) == FCV_FATAL);
	CHECK(strstr(err, "unexpected answer \"ERR no?\"") != NULL);
	CHECK(peer_done(p, 0) == 0);

	/* The retrying connect gets through once the guest listens. */
	p = peer(refuses_twice, 3);
	CHECK(fcvsock_connect(sock_path, 1024, 5000, 1000, 10, NULL, NULL, &fd, err, sizeof err) ==
	      FCV_CONNECTED);
	CHECK(fd > 2 && close(fd) == 0);
	CHECK(peer_done(p, 0) == 0);

	/* No socket at all until the deadline: retried, then the last reason and the count. */
	unlink(sock_path);
	t0 = now_ms();
	CHECK(fcvsock_connect(sock_path, 1024, 300, 100, 20, NULL, NULL, &fd, err, sizeof err) ==
	      FCV_RETRY);
	took = now_ms() - t0;
	CHECK(took >= 250 && took < 2000);
	CHECK(strstr(err, "No such file") && strstr(err, "attempts in 300 ms"));

	/* A silent peer under the retrying connect: each attempt within the overall deadline. */
	p = peer(silent, 1);
	t0 = now_ms();
	CHECK(fcvsock_connect(sock_path, 1024, 400, 5000, 20, NULL, NULL, &fd, err, sizeof err) ==
	      FCV_RETRY);
	took = now_ms() - t0;
	CHECK(took < 2000);
	peer_done(p, 1);

	/* The VMM gone: the wait ends at once. */
	unlink(sock_path);
	t0 = now_ms();
	int calls = 0;
	CHECK(fcvsock_connect(sock_path, 1024, 5000, 100, 10, gone_second_time, &calls, &fd, err,
			      sizeof err) == FCV_RETRY);
	CHECK(calls == 2 && now_ms() - t0 < 1000);

	CHECK(fcvsock_ok_line("OK 1", 4));
	CHECK(fcvsock_ok_line("OK 4294967295", 13));
	CHECK(!fcvsock_ok_line("OK ", 3));
	CHECK(!fcvsock_ok_line("OK 1x", 5));
	CHECK(!fcvsock_ok_line("OK 12345678901", 14));
	CHECK(!fcvsock_ok_line("ok 1", 4));
}

/* Firecracker's API: reads the whole request, keeps it in the peer's exit status check. */
static void api_request(int c, char *req, size_t cap)
{
	size_t n = 0;
	char *body;
	while (n < cap - 1) {
		ssize_t r = read(c, req + n, cap - 1 - n);
		if (r <= 0)
			_exit(5);
		n += (size_t)r;
		req[n] = 0;
		body = strstr(req, "\r\n\r\n");
		if (body && strlen(body + 4) == strlen(FCAPI_CTRL_ALT_DEL_BODY))
			break;
	}
	const char *want = "PUT /actions HTTP/1.1\r\nHost: localhost\r\n"
			   "Accept: application/json\r\nContent-Type: application/json\r\n"
			   "Content-Length: 32\r\n\r\n{\"action_type\":\"SendCtrlAltDel\"}";
	if (strcmp(req, want) != 0)
		_exit(2);
}

static void api_204(int c, int nth)
{
	(void)nth;
	char req[512];
	api_request(c, req, sizeof req);
	write_all(c, "HTTP/1.1 204 \r\n\r\n", 17);
}

static void api_400(int c, int nth)
{
	(void)nth;
	char req[512];
	api_request(c, req, sizeof req);
	const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
			"Content-Length: 26\r\n\r\n{\"fault_message\":\"nope\"}  ";
	write_all(c, r, strlen(r));
}

static void api_silent(int c, int nth)
{
	(void)nth;
	char req[512];
	api_request(c, req, sizeof req);
	pause();
}

static void api_garbage(int c, int nth)
{
	(void)nth;
	char req[512];
	api_request(c, req, sizeof req);
	char junk[300];
	memset(junk, 'x', sizeof junk);
	write_all(c, junk, sizeof junk);
}

static void api_closes(int c, int nth)
{
	(void)nth;
	char req[512];
	api_request(c, req, sizeof req);
}

static char err[256];

/* SendCtrlAltDel to the peer, with a 300 ms bound. */
static int put(void)
{
	return fcapi_put(sock_path, FCAPI_CTRL_ALT_DEL_PATH, FCAPI_CTRL_ALT_DEL_BODY, 300, err,
			 sizeof err);
}

static void api_tests(void)
{
	pid_t p = peer(api_204, 1);
	CHECK(put() == 204);
	CHECK(peer_done(p, 0) == 0);

	p = peer(api_400, 1);
	CHECK(put() == 400 && strstr(err, "HTTP 400") != NULL);
	CHECK(peer_done(p, 0) == 0);

	p = peer(api_silent, 1);
	long long t0 = now_ms();
	CHECK(put() == -1 && strstr(err, "no answer in time") != NULL);
	CHECK(now_ms() - t0 < 2000);
	peer_done(p, 1);

	p = peer(api_garbage, 1);
	CHECK(put() == -1 && strstr(err, "status line over") != NULL);
	CHECK(peer_done(p, 0) == 0);

	p = peer(api_closes, 1);
	CHECK(put() == -1 && strstr(err, "closed before the status line") != NULL);
	CHECK(peer_done(p, 0) == 0);

	unlink(sock_path);
	CHECK(put() == -1 && strstr(err, "connect") && strstr(err, sock_path));

	char small[40];
	CHECK(fcapi_request(small, sizeof small, "PUT", "/actions", "{}") == -1);
}

static void handover_tests(void)
{
	struct tlv_buf b = {0};
	uint8_t pid[4], port[4];
	wr_u32(pid, 1234);
	wr_u32(port, 1024);
	tlv_add_str(&b, HO_AGENT_SOCKET, "/run/runcvm/fc-vsock.sock");
	tlv_add(&b, HO_CONFIG, "c", 1);
	tlv_add(&b, HO_START, "s", 1);
	tlv_add(&b, HO_VMM_PID, pid, 4);
	tlv_add_str(&b, HO_VMM_NAME, "firecracker");
	tlv_add(&b, HO_HELLO_TIMEOUT_MS, pid, 4);
	tlv_add(&b, HO_STARTED_TIMEOUT_MS, pid, 4);
	tlv_add(&b, HO_VSOCK_PORT, port, 4);
	tlv_add_str(&b, HO_API_SOCKET, "/run/runcvm/fc-api.sock");
	struct handover h;
	char err[128];
	CHECK(handover_parse(b.data, b.len, &h, err, sizeof err) == 0);
	CHECK(h.vsock_port == 1024 && strcmp(h.api_socket, "/run/runcvm/fc-api.sock") == 0);

	/* Port 0 is no port; an API socket path that cannot be a sun_path is refused. */
	struct tlv_buf bad = b;
	uint8_t zero[4] = {0};
	tlv_add(&bad, HO_VSOCK_PORT, zero, 4);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);
	bad = b;
	char longpath[120];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	tlv_add_str(&bad, HO_API_SOCKET, longpath);
	CHECK(handover_parse(bad.data, bad.len, &h, err, sizeof err) == -1);

	/* QEMU's state has neither: the agent socket is the agent's own stream. */
	struct tlv_buf q = {0};
	tlv_add_str(&q, HO_AGENT_SOCKET, "/run/runcvm/agent.sock");
	tlv_add(&q, HO_CONFIG, "c", 1);
	tlv_add(&q, HO_START, "s", 1);
	tlv_add(&q, HO_VMM_PID, pid, 4);
	tlv_add_str(&q, HO_VMM_NAME, "qemu");
	tlv_add(&q, HO_HELLO_TIMEOUT_MS, pid, 4);
	tlv_add(&q, HO_STARTED_TIMEOUT_MS, pid, 4);
	CHECK(handover_parse(q.data, q.len, &h, err, sizeof err) == 0);
	CHECK(h.vsock_port == 0 && h.api_socket[0] == 0);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "/tmp/runcvm-fc-test.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("fc_test: mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof sock_path, "%s/fc.sock", dir);
	vsock_tests();
	api_tests();
	handover_tests();
	unlink(sock_path);
	rmdir(dir);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	puts("ok");
	return 0;
}
