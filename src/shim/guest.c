#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../agent-protocol/wire.h"

static int fail(int *errnum, int e, char *err, size_t errlen, const char *what)
{
	*errnum = e;
	snprintf(err, errlen, "%s: %s", what, strerror(e));
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t tlv(uint8_t *p, uint16_t tag, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	for (int i = 0; i < 4; i++)
		p[2 + i] = (uint8_t)(n >> (8 * i));
	memcpy(p + 6, s, n);
	return 6 + n;
}

static uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads exactly n bytes before the deadline. 0, or -1 with errno (ETIMEDOUT, EPIPE at EOF). */
static int read_full(int fd, uint8_t *b, size_t n, long long deadline)
{
	size_t got = 0;
	while (got < n) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		ssize_t k = read(fd, b + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			errno = EPIPE;
			return -1;
		}
		got += (size_t)k;
	}
	return 0;
}

int guest_stats(const char *sockdir, const char *name, int timeout_ms, uint8_t *out, size_t cap,
		size_t *len, int *errnum, char *err, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;
	*len = 0;
	/* The bundle path is often longer than a socket address may be: connect through the
	 * dir's descriptor. The dir is runcvm's own in the sandbox's bundle: no symlink. */
	int dirfd = open(sockdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
		return fail(errnum, errno, err, errlen, "open the pod socket's directory");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/exec.sock", dirfd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		close(dirfd);
		return fail(errnum, e, err, errlen, "socket");
	}
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	close(dirfd);
	if (r != 0) {
		close(fd);
		return fail(errnum, e, err, errlen, "connect to the pod VM");
	}
	uint8_t req[FRAME_HDR + 6 + 5 + 6 + 128] = {0};
	size_t n = FRAME_HDR;
	n += tlv(req + n, ST_ARG, "stats");
	n += tlv(req + n, ST_STATS, name);
	uint32_t plen = (uint32_t)(n - FRAME_HDR);
	for (int i = 0; i < 4; i++)
		req[i] = (uint8_t)(plen >> (8 * i));
	req[4] = MSG_START;
	req[8] = 1; /* the connection's one process */
	if (write(fd, req, n) != (ssize_t)n) {
		e = errno;
		close(fd);
		return fail(errnum, e, err, errlen, "send to the pod VM");
	}
	int have = 0;
	/* Frames until EXIT or ERROR; at most a few (STATS, EXIT): anything else is skipped, but
	 * each is bounded by the deadline and its size by FRAME_MAX. */
	for (;;) {
		uint8_t h[FRAME_HDR];
		if (read_full(fd, h, sizeof h, deadline) != 0) {
			e = errno;
			close(fd);
			return fail(errnum, e == EPIPE ? EPROTO : e, err, errlen,
				    e == EPIPE ? "the pod VM closed the connection"
					       : "read the pod VM's answer");
		}
		uint32_t flen = le32(h);
		uint8_t type = h[4];
		if (flen > FRAME_MAX) {
			close(fd);
			return fail(errnum, EPROTO, err, errlen, "oversized frame from the pod VM");
		}
		uint8_t body[4096];
		size_t keep = flen < sizeof body ? flen : sizeof body;
		if (read_full(fd, body, keep, deadline) != 0) {
			e = errno;
			close(fd);
			return fail(errnum, e == EPIPE ? EPROTO : e, err, errlen,
				    "read the pod VM's answer");
		}
		for (uint32_t left = flen - (uint32_t)keep; left > 0;) {
			uint8_t skip[256];
			size_t k = left < sizeof skip ? left : sizeof skip;
			if (read_full(fd, skip, k, deadline) != 0) {
				e = errno;
				close(fd);
				return fail(errnum, e, err, errlen, "read the pod VM's answer");
			}
			left -= (uint32_t)k;
		}
		if (type == MSG_STATS) {
			if (flen > cap || flen > keep) {
				close(fd);
				return fail(errnum, EPROTO, err, errlen, "oversized STATS");
			}
			memcpy(out, body, flen);
			*len = flen;
			have = 1;
		} else if (type == MSG_EXIT) {
			close(fd);
			if (!have)
				return fail(errnum, EPROTO, err, errlen, "EXIT without STATS");
			return 0;
		} else if (type == MSG_ERROR) {
			close(fd);
			/* ERROR payload: i32 errno, then the message. */
			*errnum = keep >= 4 ? (int)le32(body) : EPROTO;
			int mlen = keep > 4 ? (int)(keep - 4) : 0;
			snprintf(err, errlen, "%.*s", mlen, (const char *)body + 4);
			return -1;
		}
	}
}
