#include "fcapi.h"

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

int fcapi_request(char *out, size_t cap, const char *method, const char *path, const char *body)
{
	/* The headers the Node client sends (api-client.ts); Firecracker's HTTP server needs
	 * Content-Length for a body. */
	int n = snprintf(out, cap,
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* 1 ready, 0 deadline passed, -1 error (errno). */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left < 0 ? 0 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* "HTTP/1.x NNN ..." → NNN, else -1. */
static int status_of(const char *line, size_t len)
{
	if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return -1;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		code = code * 10 + (line[i] - '0');
	}
	return len == 12 || line[12] == ' ' ? code : -1;
}

static int exchange(int fd, const char *socket_path, const char *path, const char *body,
		    long long deadline, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof a.sun_path) {
		snprintf(err, errlen, "firecracker API %s: path too long", socket_path);
		return -1;
	}
	memcpy(a.sun_path, socket_path, strlen(socket_path) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		snprintf(err, errlen, "firecracker API %s: connect: %s", socket_path,
			 strerror(errno));
		return -1;
	}
	char req[512];
	int n = fcapi_request(req, sizeof req, "PUT", path, body);
	if (n < 0) {
		snprintf(err, errlen, "firecracker API PUT %s: request too long", path);
		return -1;
	}
	for (int off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) <= 0) {
				snprintf(err, errlen,
					 "firecracker API PUT %s: request not taken in time", path);
				return -1;
			}
			continue;
		}
		if (w < 0) {
			snprintf(err, errlen, "firecracker API PUT %s: write: %s", path,
				 strerror(errno));
			return -1;
		}
		off += (int)w;
	}
	char line[FCAPI_STATUS_MAX];
	size_t have = 0;
	for (;;) {
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			snprintf(err, errlen, "firecracker API PUT %s: %s", path,
				 r < 0 ? strerror(errno) : "no answer in time");
			return -1;
		}
		ssize_t got = read(fd, line + have, sizeof line - have);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			snprintf(err, errlen, "firecracker API PUT %s: %s", path,
				 got < 0 ? strerror(errno) : "closed before the status line");
			return -1;
		}
		have += (size_t)got;
		char *eol = memchr(line, '\n', have);
		if (eol) {
			size_t len = (size_t)(eol - line);
			if (len > 0 && line[len - 1] == '\r')
				len--;
			int code = status_of(line, len);
			if (code < 0)
				snprintf(err, errlen,
					 "firecracker API PUT %s: not an HTTP status line", path);
			return code;
		}
		if (have == sizeof line) {
			snprintf(err, errlen, "firecracker API PUT %s: status line over %d bytes",
				 path, FCAPI_STATUS_MAX);
			return -1;
		}
	}
}

int fcapi_put(const char *socket_path, const char *path, const char *body, int timeout_ms,
	      char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "firecracker API %s: socket: %s", socket_path,
			 strerror(errno));
		return -1;
	}
	int code = exchange(fd, socket_path, path, body, now_ms() + timeout_ms, err, errlen);
	if (close(fd) != 0 && code >= 0) {
		snprintf(err, errlen, "firecracker API %s: close: %s", socket_path,
			 strerror(errno));
		return -1;
	}
	if (code >= 300)
		snprintf(err, errlen, "firecracker API PUT %s: HTTP %d", path, code);
	return code;
}
