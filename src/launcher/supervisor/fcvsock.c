#include "fcvsock.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
	long long l = deadline - now_ms();
	return l < 0 ? 0 : (int)l;
}

int fcvsock_ok_line(const char *line, size_t len)
{
	if (len < 4 || len > 13 || memcmp(line, "OK ", 3) != 0)
		return 0;
	for (size_t i = 3; i < len; i++)
		if (line[i] < '0' || line[i] > '9')
			return 0;
	return 1;
}

/* The peer's bytes, for an error message: printable ASCII, the rest as '?'. */
static void printable(char *out, size_t cap, const char *in, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[n] = 0;
}

/* Waits for events on fd until deadline: 1 ready, 0 timed out, -1 error (errno). */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

static enum fcvsock_result attempt(int fd, const char *path, uint32_t port, long long deadline,
				   char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path) {
		snprintf(err, errlen, "vsock %s: path too long", path);
		return FCV_FATAL;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		snprintf(err, errlen, "vsock %s: connect: %s", path, strerror(e));
		/* Not there yet, not listening yet, or its backlog full: Firecracker is starting.
		 */
		return e == ENOENT || e == ECONNREFUSED || e == EAGAIN ? FCV_RETRY : FCV_FATAL;
	}
	char req[32];
	int n = snprintf(req, sizeof req, "CONNECT %u\n", port);
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (wait_fd(fd, POLLOUT, deadline) > 0)
				continue;
			snprintf(err, errlen, "vsock %s port %u: cannot write CONNECT", path, port);
			return FCV_RETRY;
		}
		if (w < 0) {
			int e = errno;
			snprintf(err, errlen, "vsock %s port %u: write CONNECT: %s", path, port,
				 strerror(e));
			return e == EPIPE || e == ECONNRESET ? FCV_RETRY : FCV_FATAL;
		}
		off += (int)w;
	}
	char line[FCVSOCK_LINE_MAX];
	size_t have = 0;
	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline);
		if (r < 0) {
			snprintf(err, errlen, "vsock %s port %u: poll: %s", path, port,
				 strerror(errno));
			return FCV_FATAL;
		}
		if (r == 0) {
			snprintf(err, errlen, "vsock %s port %u: no answer to CONNECT in time",
				 path, port);
			return FCV_RETRY;
		}
		/* One byte at a time: the guest's first frame may follow the OK line at once. */
		ssize_t got = read(fd, line + have, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0 && errno != ECONNRESET) {
			snprintf(err, errlen, "vsock %s port %u: read: %s", path, port,
				 strerror(errno));
			return FCV_FATAL;
		}
		if (got <= 0) {
			snprintf(err, errlen,
				 "vsock %s port %u: closed before OK (is the guest listening?)",
				 path, port);
			return FCV_RETRY;
		}
		if (line[have] == '\n') {
			if (fcvsock_ok_line(line, have))
				return FCV_CONNECTED;
			char shown[FCVSOCK_LINE_MAX];
			printable(shown, sizeof shown, line, have);
			snprintf(err, errlen, "vsock %s port %u: unexpected answer \"%s\"", path,
				 port, shown);
			return FCV_FATAL;
		}
		if (++have == sizeof line) {
			snprintf(err, errlen,
				 "vsock %s port %u: answer longer than %d bytes without a newline",
				 path, port, FCVSOCK_LINE_MAX);
			return FCV_FATAL;
		}
	}
}

enum fcvsock_result fcvsock_connect_once(const char *path, uint32_t port, int answer_ms, int *fd,
					 char *err, size_t errlen)
{
	*fd = -1;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		snprintf(err, errlen, "vsock %s: socket: %s", path, strerror(errno));
		return FCV_FATAL;
	}
	enum fcvsock_result r = attempt(s, path, port, now_ms() + answer_ms, err, errlen);
	if (r == FCV_CONNECTED) {
		*fd = s;
		return r;
	}
	if (close(s) != 0) {
		snprintf(err, errlen, "vsock %s: close: %s", path, strerror(errno));
		return FCV_FATAL;
	}
	return r;
}

enum fcvsock_result fcvsock_connect(const char *path, uint32_t port, int timeout_ms, int answer_ms,
				    int retry_ms, int (*gone)(void *), void *ctx, int *fd,
				    char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	for (int tries = 1;; tries++) {
		/* No attempt may run past the deadline. */
		int budget = left_ms(deadline);
		enum fcvsock_result r = fcvsock_connect_once(
			path, port, budget < answer_ms ? budget : answer_ms, fd, err, errlen);
		if (r != FCV_RETRY)
			return r;
		if (gone && gone(ctx))
			return FCV_RETRY;
		if (now_ms() + retry_ms >= deadline) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, " (%d attempts in %d ms)", tries,
				 timeout_ms);
			return FCV_RETRY;
		}
		struct timespec ts = {retry_ms / 1000, (long)(retry_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		}
	}
}
