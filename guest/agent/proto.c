#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void proto_init(struct chan *ch, int fd)
{
	*ch = (struct chan){.fd = fd};
}
int proto_port(const struct chan *ch)
{
	return ch->fd;
}
int proto_host_gone(const struct chan *ch)
{
	return ch->host_gone;
}

int proto_set_nonblocking(struct chan *ch)
{
	int fl = fcntl(ch->fd, F_GETFL);
	if (fl < 0 || fcntl(ch->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		log_error("set agent port non-blocking: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * A write to a port whose host end is closed blocks until a host connects again, which
 * would hang the agent for good. So wait in poll: POLLHUP without POLLOUT means the host
 * is gone. Returns 0 when writable.
 */
static int wait_writable(struct chan *ch)
{
	struct pollfd p = {ch->fd, POLLOUT, 0};
	for (;;) {
		int r = poll(&p, 1, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (p.revents & POLLOUT)
			return 0;
		if (p.revents & (POLLHUP | POLLERR)) {
			ch->host_gone = 1;
			errno = EPIPE;
			return -1;
		}
	}
}

static int write_all(struct chan *ch, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(ch->fd, iov, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && wait_writable(ch) == 0)
			continue;
		if (n < 0)
			return -1;
		/* Short writes happen on the port: skip what went out and resume mid-iovec. */
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int proto_send(struct chan *ch, uint8_t type, uint32_t id, const void *a, size_t alen,
	       const void *b, size_t blen)
{
	if (ch->fd < 0 || ch->host_gone) {
		errno = ch->fd < 0 ? EBADF : EPIPE;
		return -1;
	}
	uint8_t hdr[FRAME_HDR] = {0};
	put_u32(hdr, (uint32_t)(alen + blen));
	hdr[4] = type;
	put_u32(hdr + 8, id);
	struct iovec iov[3] = {
		{hdr, sizeof hdr},
		{(void *)a, alen},
		{(void *)b, blen},
	};
	if (write_all(ch, iov, 3) < 0) {
		int err = errno;
		if (ch->host_gone)
			log_port_enable(0);
		log_error("write frame type %u to port: %s", type, strerror(err));
		errno = err;
		return -1;
	}
	return 0;
}

int proto_send_error(struct chan *ch, uint32_t id, int err, const char *msg)
{
	uint8_t e[4];
	put_u32(e, (uint32_t)err);
	/* A process that cannot start is the host's news, not an agent failure. */
	logmsg(id == 0 ? LOG_ERROR : LOG_DEBUG, "error id=%u: %s", id, msg);
	return proto_send(ch, MSG_ERROR, id, e, 4, msg, strlen(msg));
}

int proto_send_agent_err(struct chan *ch, uint32_t id, const struct agent_err *e)
{
	return proto_send_error(ch, id, e->errnum, e->msg);
}

int proto_check_host_hello(const uint8_t *payload, uint32_t len, struct agent_err *e)
{
	if (len < 4)
		return agent_err_set(
			e, EPROTO,
			"host HELLO of %u bytes: a runtime of another protocol: reinstall runcvm",
			len);
	uint32_t v = get_u32(payload);
	if (v != PROTO_VERSION) {
		int n = (int)(len - 4 > 64 ? 64 : len - 4);
		return agent_err_set(e, EPROTO,
				     "the host (%.*s) speaks agent protocol %u, this agent speaks "
				     "%u: reinstall runcvm",
				     n, (const char *)payload + 4, v, PROTO_VERSION);
	}
	return 0;
}

ssize_t proto_fill(struct chan *ch)
{
	size_t cap = FRAME_HDR + FRAME_MAX;
	if (!ch->rbuf) {
		ch->rbuf = malloc(cap);
		if (!ch->rbuf) {
			log_error("allocate port buffer: %s", strerror(errno));
			return -1;
		}
	}
	if (ch->rstart > 0) {
		memmove(ch->rbuf, ch->rbuf + ch->rstart, ch->rhave - ch->rstart);
		ch->rhave -= ch->rstart;
		ch->rstart = 0;
	}
	ssize_t n;
	do
		n = read(ch->fd, ch->rbuf + ch->rhave, cap - ch->rhave);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN)
			return 1; /* spurious wakeup, not EOF */
		log_error("read port: %s", strerror(errno));
		return -1;
	}
	ch->rhave += (size_t)n;
	return n;
}

int proto_next(struct chan *ch, struct frame *f)
{
	size_t avail = ch->rhave - ch->rstart;
	if (avail < FRAME_HDR)
		return 0;
	const uint8_t *h = ch->rbuf + ch->rstart;
	uint32_t len = get_u32(h);
	if (len > FRAME_MAX) {
		log_error("frame of %u bytes exceeds the %u byte limit", len, FRAME_MAX);
		return -1;
	}
	if (avail < FRAME_HDR + len)
		return 0;
	f->type = h[4];
	f->id = get_u32(h + 8);
	f->payload = h + FRAME_HDR;
	f->len = len;
	ch->rstart += FRAME_HDR + len;
	return 1;
}

int tlv_next(struct tlv_iter *it, uint16_t *tag, const uint8_t **val, uint32_t *len)
{
	if (it->left == 0)
		return 0;
	if (it->left < 6)
		return -1;
	*tag = get_u16(it->p);
	*len = get_u32(it->p + 2);
	if (*len > it->left - 6)
		return -1;
	*val = it->p + 6;
	it->p += 6 + *len;
	it->left -= 6 + (size_t)*len;
	return 1;
}
