#include "portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static int dial_one(int family, const void *addr, socklen_t len)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, addr, len) == 0)
		return fd;
	int err = errno;
	close(fd);
	errno = err;
	return -1;
}

int portfwd_dial(uint16_t port)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(port)};
	v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = dial_one(AF_INET, &v4, sizeof v4);
	if (fd >= 0)
		return fd;
	int err = errno;
	/* A server listening on ::1 only: as containerd falls back to tcp6 on the host. */
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	v6.sin6_addr = in6addr_loopback;
	fd = dial_one(AF_INET6, &v6, sizeof v6);
	if (fd < 0)
		errno = err;
	return fd;
}

/* One direction of the copy: what was read and not yet written. */
struct leg {
	int from, to;
	unsigned char buf[CHUNK];
	size_t len, off;
	int eof;
};

/* 1 when the leg moved or ended, 0 when it would block, -1 on an error (errno). */
static int step(struct leg *l, short revents)
{
	if (l->len == 0 && (revents & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(l->from, l->buf, sizeof l->buf);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		if (n == 0)
			l->eof = 1;
		l->len = (size_t)n;
		l->off = 0;
		return 1;
	}
	if (l->len > 0 && (revents & (POLLOUT | POLLHUP | POLLERR))) {
		ssize_t n = write(l->to, l->buf + l->off, l->len - l->off);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		l->off += (size_t)n;
		if (l->off == l->len)
			l->len = l->off = 0;
		return 1;
	}
	return 0;
}

static void poll_entry(const struct leg *l, struct pollfd *p)
{
	int done = l->eof && l->len == 0;
	*p = (struct pollfd){done     ? -1
			     : l->len ? l->to
				      : l->from,
			     (short)(l->len ? POLLOUT : POLLIN), 0};
}

int portfwd_relay(int in, int out, int sock)
{
	static struct leg up, down;
	up = (struct leg){.from = in, .to = sock};
	down = (struct leg){.from = sock, .to = out};
	int fds[3] = {in, out, sock};
	for (int i = 0; i < 3; i++) {
		int fl = fcntl(fds[i], F_GETFL);
		if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0)
			return -1;
	}
	int up_closed = 0;
	/* The stream ends with the server's side: whatever the client still sends has no reader. */
	while (!(down.eof && down.len == 0)) {
		struct pollfd p[2];
		poll_entry(&up, &p[0]);
		poll_entry(&down, &p[1]);
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[0].revents && step(&up, p[0].revents) < 0)
			return -1;
		if (p[1].revents && step(&down, p[1].revents) < 0)
			return -1;
		if (up.eof && up.len == 0 && !up_closed) {
			/* The client is done sending: the server sees EOF and may still answer. */
			if (shutdown(sock, SHUT_WR) != 0 && errno != ENOTCONN)
				return -1;
			up_closed = 1;
		}
	}
	return 0;
}
