#include "proxy.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroup-driver.h"
#include "create.h"
#include "guest.h"
#include "marker.h"
#include "stats.h"
#include "ttrpc.h"
#include "unixsock.h"

/* containerd opens one connection per task of the pod (and a few for its own calls). */
#define MAX_CONNS 128
/* A buffer shrinks back to this once a large frame has gone through. */
#define BUF_KEEP (64u * 1024)
/* A peer that takes no bytes for this long is cut off rather than stalling the pod's others. */
#define SEND_TIMEOUT_S 10

struct side {
	int fd;
	uint8_t *buf;
	size_t len, cap;
};

struct conn {
	struct side c, u;
};

static void logf_(int fd, const char *fmt, ...)
{
	if (fd < 0)
		return;
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	/* Best effort: a full or closed log must not stop the proxy. */
	if (write(fd, line, (size_t)n) < 0)
		return;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void send_timeout(int fd)
{
	struct timeval tv = {.tv_sec = SEND_TIMEOUT_S};
	/* Without it a stuck peer blocks the proxy: failing to set it is reported, not fatal. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		perror("runcvm-shim: SO_SNDTIMEO");
}

static void close_conn(struct conn *k)
{
	close(k->c.fd);
	close(k->u.fd);
	free(k->c.buf);
	free(k->u.buf);
	memset(k, 0, sizeof *k);
	k->c.fd = k->u.fd = -1;
}

/* Task.Create with the runc shim's options, sent on to it. 1 when sent, -1 when the request
 * cannot be rewritten or the runc shim is gone (the pair closes: containerd sees the create
 * fail rather than a runc shim running the host's runc). */
static int rewrite_create(const struct proxy_cfg *cfg, struct conn *k, const struct ttrpc_hdr *h,
			  const uint8_t *body, const struct ttrpc_req *r)
{
	size_t cap = r->payload_len + 2048;
	uint8_t *payload = malloc(cap), *frame = malloc(TTRPC_HDR + h->len + 4096);
	int ret = -1;
	size_t plen, flen;
	if (!payload || !frame)
		goto out;
	/* The runc shim's cgroup driver, from the task's spec: without it a kubelet on systemd's
	 * driver would get its containers' cgroups made by cgroupfs rules (cgroup-driver.h). */
	char id[130], err[512];
	int systemd = task_request_id(r->payload, r->payload_len, id, sizeof id) == 0
			      ? bundle_wants_systemd_cgroup(cfg->nsdir, id, err, sizeof err)
			      : (snprintf(err, sizeof err, "no valid task id"), -1);
	if (systemd < 0) {
		logf_(cfg->log_fd, "runcvm-shim: Task.Create: the cgroup driver: %s", err);
		goto out;
	}
	plen = create_with_runc_binary(r->payload, r->payload_len, cfg->runc_binary, systemd,
				       payload, cap);
	flen = plen ? request_with_payload(body, h->len, payload, plen, frame + TTRPC_HDR,
					   h->len + 4096)
		    : 0;
	if (!flen || flen > TTRPC_MAX) {
		logf_(cfg->log_fd, "runcvm-shim: malformed Task.Create request");
		goto out;
	}
	struct ttrpc_hdr nh = *h;
	nh.len = (uint32_t)flen;
	ttrpc_hdr_write(frame, &nh);
	ret = write_all(k->u.fd, frame, TTRPC_HDR + flen) == 0 ? 1 : -1;
out:
	free(payload);
	free(frame);
	return ret;
}

/* What the proxy does itself: Task.Create (rewrite_create) and Task.Stats of a pod-VM
 * container, answered here. 1 when done (a frame written to the runc shim or a response to
 * k's client), 0 when the frame goes to the runc shim as it is, -1 when the pair must close. */
static int intercept(const struct proxy_cfg *cfg, struct conn *k, const struct ttrpc_hdr *h,
		     const uint8_t *body)
{
	struct ttrpc_req r;
	char id[130];
	if (h->type != TTRPC_REQUEST || ttrpc_req_read(body, h->len, &r) != 0)
		return 0;
	if (ttrpc_req_is(&r, TASK_SERVICE, "Create"))
		return rewrite_create(cfg, k, h, body, &r);
	if (!ttrpc_req_is(&r, TASK_SERVICE, "Stats") ||
	    task_request_id(r.payload, r.payload_len, id, sizeof id) != 0)
		return 0;
	struct pod_marker m;
	char err[512];
	int found = marker_read(cfg->nsdir, id, &m, err, sizeof err);
	if (found == 0)
		return 0;
	uint8_t out[16384];
	size_t n;
	if (found < 0) {
		logf_(cfg->log_fd, "runcvm-shim: stats of %s: %s", id, err);
		char msg[700];
		snprintf(msg, sizeof msg, "runcvm: stats of %s: %s", id, err);
		n = ttrpc_error(out, sizeof out, h->stream, CODE_UNAVAILABLE, msg);
	} else {
		uint8_t tlv[4096];
		size_t tlen;
		int errnum;
		if (guest_stats(m.sock, m.name, GUEST_TIMEOUT_MS, tlv, sizeof tlv, &tlen, &errnum,
				err, sizeof err) != 0) {
			/* Not running in the guest (created, exited): its client's host cgroup is
			 * what there is, as for a runc container that has exited. */
			if (errnum == ESRCH)
				return 0;
			logf_(cfg->log_fd, "runcvm-shim: stats of %s from its pod VM: %s", id, err);
			char msg[700];
			snprintf(msg, sizeof msg, "runcvm: stats of %s from its pod VM: %s", id,
				 err);
			n = ttrpc_error(out, sizeof out, h->stream, CODE_UNAVAILABLE, msg);
		} else {
			uint8_t resp[8192];
			size_t rlen = stats_response(tlv, tlen, resp, sizeof resp);
			if (rlen == 0) {
				logf_(cfg->log_fd, "runcvm-shim: stats of %s: malformed STATS", id);
				n = ttrpc_error(out, sizeof out, h->stream, CODE_UNAVAILABLE,
						"runcvm: malformed STATS from the pod VM");
			} else {
				n = ttrpc_response(out, sizeof out, h->stream, resp, rlen);
			}
		}
	}
	if (n == 0)
		return -1;
	return write_all(k->c.fd, out, n) == 0 ? 1 : -1;
}

/* Reads what from has, passes each whole frame on to to (or answers it). 0, or -1 when the
 * pair must close (EOF, an error, an oversized frame). */
static int pump(const struct proxy_cfg *cfg, struct conn *k, int from_client)
{
	struct side *from = from_client ? &k->c : &k->u;
	int to = from_client ? k->u.fd : k->c.fd;
	if (from->cap - from->len < 4096) {
		size_t want = from->cap ? from->cap * 2 : BUF_KEEP;
		if (want > TTRPC_HDR + TTRPC_MAX + 4096)
			want = TTRPC_HDR + TTRPC_MAX + 4096;
		if (want <= from->len)
			return -1;
		uint8_t *b = realloc(from->buf, want);
		if (!b)
			return -1;
		from->buf = b;
		from->cap = want;
	}
	ssize_t got = read(from->fd, from->buf + from->len, from->cap - from->len);
	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (got <= 0)
		return -1;
	from->len += (size_t)got;
	size_t off = 0;
	while (from->len - off >= TTRPC_HDR) {
		struct ttrpc_hdr h;
		ttrpc_hdr_read(from->buf + off, &h);
		if (h.len > TTRPC_MAX)
			return -1;
		size_t whole = TTRPC_HDR + (size_t)h.len;
		if (from->len - off < whole)
			break;
		int done = from_client ? intercept(cfg, k, &h, from->buf + off + TTRPC_HDR) : 0;
		if (done < 0)
			return -1;
		if (!done && write_all(to, from->buf + off, whole) != 0)
			return -1;
		off += whole;
	}
	memmove(from->buf, from->buf + off, from->len - off);
	from->len -= off;
	if (from->cap > BUF_KEEP && from->len <= BUF_KEEP / 2) {
		uint8_t *b = realloc(from->buf, BUF_KEEP);
		if (b) {
			from->buf = b;
			from->cap = BUF_KEEP;
		}
	}
	return 0;
}

int proxy_run(const struct proxy_cfg *cfg)
{
	struct conn conns[MAX_CONNS];
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].c.fd = conns[i].u.fd = -1;
	struct pollfd pfd[2 + 2 * MAX_CONNS];
	int slot[2 + 2 * MAX_CONNS];
	for (;;) {
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = cfg->listen_fd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = cfg->watch_fd, .events = POLLIN};
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i].c.fd < 0)
				continue;
			slot[n] = i;
			pfd[n++] = (struct pollfd){.fd = conns[i].c.fd, .events = POLLIN};
			slot[n] = i;
			pfd[n++] = (struct pollfd){.fd = conns[i].u.fd, .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			logf_(cfg->log_fd, "runcvm-shim: poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[1].revents) {
			uint8_t junk[256];
			ssize_t got = read(cfg->watch_fd, junk, sizeof junk);
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
				break; /* the runc shim has exited: its tasks with it */
		}
		for (int j = 2; j < n; j++) {
			if (!pfd[j].revents)
				continue;
			struct conn *k = &conns[slot[j]];
			if (k->c.fd < 0)
				continue; /* closed by its other side in this round */
			int client = pfd[j].fd == k->c.fd;
			if (pump(cfg, k, client) != 0)
				close_conn(k);
		}
		if (pfd[0].revents & POLLIN) {
			int c = accept4(cfg->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			int free_slot = -1;
			for (int i = 0; i < MAX_CONNS && free_slot < 0; i++)
				if (conns[i].c.fd < 0)
					free_slot = i;
			int u = free_slot < 0 ? -1 : unix_dial(cfg->upstream);
			if (u < 0) {
				logf_(cfg->log_fd, "runcvm-shim: %s",
				      free_slot < 0 ? "too many connections" : strerror(errno));
				close(c);
				continue;
			}
			send_timeout(c);
			send_timeout(u);
			conns[free_slot] = (struct conn){.c = {.fd = c}, .u = {.fd = u}};
		}
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].c.fd >= 0)
			close_conn(&conns[i]);
	return 0;
}
