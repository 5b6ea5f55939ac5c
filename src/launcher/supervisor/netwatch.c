#include "netwatch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl.h"

#ifndef AF_BRIDGE
#define AF_BRIDGE 7
#endif

#define DUMP_TIMEOUT_MS 1000
#define DUMP_MAX_LINKS	256

int netwatch_parse(struct netwatch_ifaces *w, const unsigned char *v, size_t len)
{
	w->n = 0;
	size_t off = 0;
	while (off < len) {
		const unsigned char *end = memchr(v + off, 0, len - off);
		size_t n = end ? (size_t)(end - (v + off)) : len - off;
		if (n == 0 || n >= IF_NAMESIZE || w->n == NETWATCH_IFACES)
			return -1;
		memcpy(w->name[w->n], v + off, n);
		w->name[w->n][n] = 0;
		w->n++;
		off += n + 1;
	}
	return 0;
}

/* lo, and the bridges and taps runcvm made for the VM (network/handoff.ts, hotplug.ts). */
static int runcvm_link(const char *name)
{
	return strcmp(name, "lo") == 0 || strncmp(name, "br-", 3) == 0 ||
	       strncmp(name, "tap-", 4) == 0;
}

/* A link message's name into out (empty when it has none). */
static void link_name(const struct nlmsghdr *h, char out[IF_NAMESIZE])
{
	out[0] = 0;
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return;
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	int left = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *ifi));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if (a->rta_type != IFLA_IFNAME)
			continue;
		size_t n = RTA_PAYLOAD(a);
		const char *s = RTA_DATA(a);
		size_t len = strnlen(s, n);
		if (len >= IF_NAMESIZE)
			return;
		memcpy(out, s, len);
		out[len] = 0;
		return;
	}
}

int netwatch_matters(const void *buf, size_t len)
{
	int left = len > (size_t)0x7fffffff ? 0x7fffffff : (int)len;
	for (const struct nlmsghdr *h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
		switch (h->nlmsg_type) {
		case RTM_NEWADDR:
		case RTM_DELADDR: return 1;
		case RTM_NEWLINK:
		case RTM_DELLINK: {
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
				return 1;
			/* A bridge port's state (forwarding, learning): the bridge's, never
			 * Docker's. */
			if (((const struct ifinfomsg *)NLMSG_DATA(h))->ifi_family == AF_BRIDGE)
				continue;
			char name[IF_NAMESIZE];
			link_name(h, name);
			if (!name[0] || !runcvm_link(name))
				return 1;
			continue;
		}
		default: continue;
		}
	}
	return 0;
}

static int known(const struct netwatch_ifaces *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (strcmp(w->name[i], name) == 0)
			return 1;
	return 0;
}

int netwatch_differs(const struct netwatch_ifaces *w, char *err, size_t errlen)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		snprintf(err, errlen, "netlink socket: %s", strerror(errno));
		return -1;
	}
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = {.h = {.nlmsg_len = sizeof req,
		       .nlmsg_type = RTM_GETLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		       .nlmsg_seq = 1},
		 .i = {.ifi_family = AF_UNSPEC}};
	if (send(fd, &req, sizeof req, 0) != (ssize_t)sizeof req) {
		snprintf(err, errlen, "netlink dump request: %s", strerror(errno));
		if (close(fd) != 0)
			snprintf(err, errlen, "netlink dump request and close: %s",
				 strerror(errno));
		return -1;
	}
	static unsigned char buf[32768];
	int seen = 0, links = 0, rc = -1;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, DUMP_TIMEOUT_MS);
		if (r <= 0) {
			snprintf(err, errlen, "netlink dump: %s",
				 r == 0 ? "no answer within 1 s" : strerror(errno));
			break;
		}
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "netlink dump: %s", strerror(errno));
			break;
		}
		int left = (int)n, done = 0, bad = 0;
		for (const struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, left);
		     h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR || ++links > DUMP_MAX_LINKS) {
				bad = 1;
				break;
			}
			if (h->nlmsg_type != RTM_NEWLINK)
				continue;
			char name[IF_NAMESIZE];
			link_name(h, name);
			if (!name[0])
				continue;
			if (runcvm_link(name))
				continue;
			if (!known(w, name)) {
				rc = 1; /* keep reading: the dump's rest must not stay queued */
				continue;
			}
			seen++;
		}
		if (bad) {
			snprintf(err, errlen, "netlink dump: an error or more than %d links",
				 DUMP_MAX_LINKS);
			rc = -1;
			break;
		}
		if (done) {
			if (rc != 1)
				rc = seen == w->n ? 0 : 1;
			break;
		}
		if (n == 0) {
			snprintf(err, errlen, "netlink dump: closed before its end");
			rc = -1;
			break;
		}
	}
	if (close(fd) != 0 && rc >= 0) {
		snprintf(err, errlen, "netlink socket close: %s", strerror(errno));
		rc = -1;
	}
	return rc;
}
