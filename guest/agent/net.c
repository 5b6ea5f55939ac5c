/* Configures the guest's NICs with the addresses the container had (docs/agent-protocol.md,
 * NIC/ROUTE). ioctls suffice: Docker gives each interface one IPv4 address. */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"

static int copy_name(char *dst, const uint8_t *src, size_t len)
{
	if (len == 0 || len >= IFNAMSIZ || memchr(src, 0, len))
		return -1;
	memcpy(dst, src, len);
	dst[len] = 0;
	return 0;
}

static void *append(void *arr, size_t count, size_t elem)
{
	return realloc(arr, (count + 1) * elem);
}

static int parse_nic(struct nic_req *r, const uint8_t *v, size_t len)
{
	if (len < 15)
		return -1;
	memcpy(r->mac, v, 6);
	r->mtu = get_u16(v + 6);
	r->prefix = v[8];
	memcpy(r->ip, v + 10, 4);
	return r->prefix > 32 || copy_name(r->name, v + 14, len - 14) != 0 ? -1 : 0;
}

static int add_nic(struct net_config *n, const uint8_t *v, uint32_t len)
{
	struct nic_req *arr = append(n->nics, n->nnics, sizeof *arr);
	if (!arr)
		return -1;
	n->nics = arr;
	if (parse_nic(&arr[n->nnics], v, len) != 0)
		return -1;
	n->nnics++;
	return 0;
}

static int add_spare(struct net_config *n, const uint8_t *v, uint32_t len)
{
	if (len < 7)
		return -1;
	struct spare_req *arr = append(n->spares, n->nspares, sizeof *arr);
	if (!arr)
		return -1;
	n->spares = arr;
	memcpy(arr[n->nspares].mac, v, 6);
	if (copy_name(arr[n->nspares].name, v + 6, len - 6) != 0)
		return -1;
	n->nspares++;
	return 0;
}

static int add_route(struct net_config *n, const uint8_t *v, uint32_t len)
{
	if (len < 13)
		return -1;
	struct route_req *arr = append(n->routes, n->nroutes, sizeof *arr);
	if (!arr)
		return -1;
	n->routes = arr;
	struct route_req *r = &arr[n->nroutes];
	memcpy(r->dst, v, 4);
	r->prefix = v[4];
	memcpy(r->gw, v + 8, 4);
	if (r->prefix > 32 || copy_name(r->dev, v + 12, len - 12) != 0)
		return -1;
	n->nroutes++;
	return 0;
}

int net_config_record(struct net_config *n, uint16_t tag, const uint8_t *v, uint32_t len)
{
	switch (tag) {
	case CFG_NIC: return add_nic(n, v, len);
	case CFG_ROUTE: return add_route(n, v, len);
	case CFG_SPARE: return add_spare(n, v, len);
	case CFG_DNS_RELAY:
		if (len != 1)
			return -1;
		n->dns_relay = v[0] != 0;
		return 0;
	default: return 1;
	}
}

void net_config_free(struct net_config *n)
{
	free(n->nics);
	free(n->routes);
	free(n->spares);
	memset(n, 0, sizeof *n);
}

/* Whether link ifr->ifr_name has this MAC (0, copied to name), not (1) or is gone (-1). */
static int mac_is(int s, struct ifreq *ifr, const uint8_t mac[6], char name[IFNAMSIZ])
{
	if (ioctl(s, SIOCGIFHWADDR, ifr) != 0) {
		/* Gone since it was listed (e.g. a veth Docker just moved out): not ours. */
		log_debug("network: MAC of %s: %s", ifr->ifr_name, strerror(errno));
		return -1;
	}
	if (ifr->ifr_hwaddr.sa_family != ARPHRD_ETHER ||
	    memcmp(ifr->ifr_hwaddr.sa_data, mac, 6) != 0)
		return 1;
	strcpy(name, ifr->ifr_name);
	return 0;
}

static int find_by_dump(int s, const uint8_t mac[6], char name[IFNAMSIZ]);

/* The links of a VM that has just booted have the indexes 1 (lo), 2, 3... in probe order: asks
 * for each by index with ioctls, up to the first gap. Under TCG this costs ~1 ms where
 * if_nameindex's netlink dump, code the guest runs for nothing else, cost 8-12 ms of every start
 * (docs/performance.md, "the agent's setup"). 0 found, -1 not among them. */
static int find_by_index(int s, const uint8_t mac[6], char name[IFNAMSIZ])
{
	for (int i = 1; i < 64; i++) {
		struct ifreq ifr = {0};
		ifr.ifr_ifindex = i;
		if (ioctl(s, SIOCGIFNAME, &ifr) != 0)
			return -1;
		if (mac_is(s, &ifr, mac, name) == 0)
			return 0;
	}
	return -1;
}

/* The kernel names NICs eth0, eth1... in probe order; the host's order may differ, so match MACs.
 * Asks the kernel (ioctls, else a netlink dump and one ioctl per link) rather than reading each
 * link's sysfs address file: under TCG a scan of /sys/class/net cost ~3 ms, several times per
 * start. The dump covers what the index walk cannot: links made and removed since the boot
 * (Docker-in-Docker's veths) leave gaps. */
static int find_by_mac(const uint8_t mac[6], char name[IFNAMSIZ])
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		log_error("network: socket: %s", strerror(errno));
		return -1;
	}
	int found = find_by_index(s, mac, name);
	if (found != 0)
		found = find_by_dump(s, mac, name);
	if (close(s) != 0)
		log_error("network: close socket: %s", strerror(errno));
	return found;
}

static int find_by_dump(int s, const uint8_t mac[6], char name[IFNAMSIZ])
{
	struct if_nameindex *links = if_nameindex();
	if (!links) {
		log_error("network: list links: %s", strerror(errno));
		return -1;
	}
	int found = -1;
	for (struct if_nameindex *l = links; found != 0 && l->if_index != 0; l++) {
		struct ifreq ifr = {0};
		if (strlen(l->if_name) >= IFNAMSIZ)
			continue;
		strcpy(ifr.ifr_name, l->if_name);
		found = mac_is(s, &ifr, mac, name) == 0 ? 0 : -1;
	}
	if_freenameindex(links);
	return found;
}

static int ifreq_call(int s, unsigned long req, struct ifreq *ifr, const char *what,
		      struct agent_err *e)
{
	if (ioctl(s, req, ifr) == 0)
		return 0;
	return agent_err_sys(e, errno, "network: %s of %s", what, ifr->ifr_name);
}

static void set_sin(struct sockaddr *sa, const uint8_t ip[4])
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;
	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip, 4);
}

static int set_flags_up(int s, const char *name, struct agent_err *e)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ifreq_call(s, SIOCGIFFLAGS, &ifr, "read flags", e) != 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ifreq_call(s, SIOCSIFFLAGS, &ifr, "bring up", e);
}

static int rename_nic(int s, const char *from, const char *to, struct agent_err *e)
{
	if (strcmp(from, to) == 0)
		return 0;
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", from);
	snprintf(ifr.ifr_newname, IFNAMSIZ, "%s", to);
	return ifreq_call(s, SIOCSIFNAME, &ifr, "rename", e);
}

/* The kernel's eth0 may be the NIC the host calls eth1: park every NIC under a unique name
 * first so that the final renames cannot collide. */
static int find_nic(const uint8_t mac[6], const char *what, char cur[IFNAMSIZ], struct agent_err *e)
{
	if (find_by_mac(mac, cur) == 0)
		return 0;
	return agent_err_set(e, ENODEV,
			     "network: no NIC with MAC %02x:%02x:%02x:%02x:%02x:%02x for %s",
			     mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], what);
}

static int park_nic(int s, const uint8_t mac[6], const char *what, size_t i, struct agent_err *e)
{
	char cur[IFNAMSIZ], tmp[IFNAMSIZ];
	if (find_nic(mac, what, cur, e) != 0)
		return -1;
	snprintf(tmp, sizeof tmp, "rcvm%u", (unsigned)(i % 1000));
	return rename_nic(s, cur, tmp, e);
}

/* Docker disables IPv6 on container interfaces unless the network has it, and the host side
 * carries IPv4 only: without this the guest would add link-local addresses runc never has. */
static void disable_ipv6(const char *name)
{
	char path[80];
	snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "1", 1) != 1)
		log_debug("disable IPv6 on %s: %s", name, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* The NIC is already named r->name: MTU, address, up. */
static int configure_nic(int s, const struct nic_req *r, struct agent_err *e)
{
	disable_ipv6(r->name);
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", r->name);
	ifr.ifr_mtu = r->mtu;
	if (r->mtu && ifreq_call(s, SIOCSIFMTU, &ifr, "set MTU", e) != 0)
		return -1;
	static const uint8_t none[4];
	if (memcmp(r->ip, none, 4) != 0) {
		set_sin(&ifr.ifr_addr, r->ip);
		if (ifreq_call(s, SIOCSIFADDR, &ifr, "set address", e) != 0)
			return -1;
		uint32_t mask = r->prefix ? htonl(~0u << (32 - r->prefix)) : 0;
		set_sin(&ifr.ifr_netmask, (const uint8_t *)&mask);
		if (ifreq_call(s, SIOCSIFNETMASK, &ifr, "set netmask", e) != 0)
			return -1;
	}
	if (set_flags_up(s, r->name, e) != 0)
		return -1;
	log_debug("nic %s: mtu %u, %u.%u.%u.%u/%u", r->name, r->mtu, r->ip[0], r->ip[1], r->ip[2],
		  r->ip[3], r->prefix);
	return 0;
}

static int setup_nic(int s, const struct nic_req *r, size_t i, struct agent_err *e)
{
	char tmp[IFNAMSIZ];
	snprintf(tmp, sizeof tmp, "rcvm%u", (unsigned)(i % 1000));
	if (rename_nic(s, tmp, r->name, e) != 0)
		return -1;
	return configure_nic(s, r, e);
}

static int set_down(int s, const char *name, struct agent_err *e)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ifreq_call(s, SIOCGIFFLAGS, &ifr, "read flags", e) != 0)
		return -1;
	ifr.ifr_flags &= ~IFF_UP;
	return ifreq_call(s, SIOCSIFFLAGS, &ifr, "take down", e);
}

static int set_mac(int s, const char *name, const uint8_t mac[6], struct agent_err *e)
{
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return ifreq_call(s, SIOCSIFHWADDR, &ifr, "set MAC", e);
}

static int add_route_entry(int s, const struct route_req *r, struct agent_err *e)
{
	struct rtentry rt;
	memset(&rt, 0, sizeof rt);
	char dev[IFNAMSIZ];
	snprintf(dev, sizeof dev, "%s", r->dev);
	static const uint8_t none[4];
	uint32_t mask = r->prefix ? htonl(~0u << (32 - r->prefix)) : 0;
	set_sin(&rt.rt_dst, r->dst);
	set_sin(&rt.rt_genmask, (const uint8_t *)&mask);
	set_sin(&rt.rt_gateway, r->gw);
	rt.rt_flags = RTF_UP | (memcmp(r->gw, none, 4) ? RTF_GATEWAY : 0) |
		      (r->prefix == 32 ? RTF_HOST : 0);
	rt.rt_dev = dev;
	if (ioctl(s, SIOCADDRT, &rt) == 0 || errno == EEXIST)
		return 0;
	return agent_err_sys(e, errno, "network: add route %u.%u.%u.%u/%u via %u.%u.%u.%u dev %s",
			     r->dst[0], r->dst[1], r->dst[2], r->dst[3], r->prefix, r->gw[0],
			     r->gw[1], r->gw[2], r->gw[3], r->dev);
}

/* True when the kernel already named each of the container's NICs as the host does (it names them
 * in probe order, which is the host's order): then nothing needs parking, and every rename saved
 * is a grace period saved (rcu.h). */
static int names_in_place(const struct net_config *n)
{
	for (size_t i = 0; i < n->nnics; i++) {
		char cur[IFNAMSIZ];
		if (find_by_mac(n->nics[i].mac, cur) != 0 || strcmp(cur, n->nics[i].name) != 0)
			return 0;
	}
	return 1;
}

/* A spare goes from wherever it is to its own name; the NICs are already in place. */
static int name_spare(int s, const struct spare_req *sp, struct agent_err *e)
{
	char cur[IFNAMSIZ];
	if (find_nic(sp->mac, sp->name, cur, e) != 0)
		return -1;
	return rename_nic(s, cur, sp->name, e);
}

int net_setup(struct net_state *st, const struct net_config *n, struct agent_err *e)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return agent_err_sys(e, errno, "network: socket");
	int rc = set_flags_up(s, "lo", e);
	int in_place = rc == 0 && names_in_place(n);
	size_t total = n->nnics + n->nspares;
	for (size_t i = 0; rc == 0 && !in_place && i < total; i++)
		rc = i < n->nnics ? park_nic(s, n->nics[i].mac, n->nics[i].name, i, e)
				  : park_nic(s, n->spares[i - n->nnics].mac,
					     n->spares[i - n->nnics].name, i, e);
	for (size_t i = n->nnics; rc == 0 && i < total; i++) {
		char tmp[IFNAMSIZ];
		snprintf(tmp, sizeof tmp, "rcvm%u", (unsigned)(i % 1000));
		rc = in_place ? name_spare(s, &n->spares[i - n->nnics], e)
			      : rename_nic(s, tmp, n->spares[i - n->nnics].name, e);
	}
	for (size_t i = 0; rc == 0 && i < n->nnics; i++)
		rc = in_place ? configure_nic(s, &n->nics[i], e) : setup_nic(s, &n->nics[i], i, e);
	if (rc == 0 && n->nspares) {
		st->spares = calloc(n->nspares, sizeof *st->spares);
		if (st->spares) {
			memcpy(st->spares, n->spares, n->nspares * sizeof *st->spares);
			st->nspares = n->nspares;
		} else {
			log_warn("keep the spare NICs: %s (docker network disconnect will leave "
				 "them "
				 "named as connected)",
				 strerror(errno));
		}
	}
	for (size_t i = 0; rc == 0 && i < n->nroutes; i++)
		rc = add_route_entry(s, &n->routes[i], e);
	close(s);
	return rc;
}

int net_configure_link(const struct nic_req *r, struct agent_err *e)
{
	char cur[IFNAMSIZ];
	if (find_nic(r->mac, r->name, cur, e) != 0)
		return -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return agent_err_sys(e, errno, "network: socket");
	int rc = rename_nic(s, cur, r->name, e);
	if (rc == 0)
		rc = configure_nic(s, r, e);
	close(s);
	return rc;
}

int net_attach(const uint8_t *p, size_t len, struct agent_err *e)
{
	struct nic_req r;
	char cur[IFNAMSIZ];
	if (len < 6 || parse_nic(&r, p + 6, len - 6) != 0)
		return agent_err_set(e, EINVAL, "network: bad NET_ATTACH frame (%zu bytes)", len);
	if (find_nic(p, r.name, cur, e) != 0)
		return -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return agent_err_sys(e, errno, "network: socket");
	int rc = set_down(s, cur, e);
	if (rc == 0)
		rc = set_mac(s, cur, r.mac, e);
	if (rc == 0)
		rc = rename_nic(s, cur, r.name, e);
	if (rc == 0)
		rc = configure_nic(s, &r, e);
	close(s);
	return rc;
}

static const struct spare_req *spare_by_mac(const struct net_state *st, const uint8_t mac[6])
{
	for (size_t i = 0; i < st->nspares; i++)
		if (memcmp(st->spares[i].mac, mac, 6) == 0)
			return &st->spares[i];
	return NULL;
}

int net_detach(const struct net_state *st, const uint8_t *p, size_t len, struct agent_err *e)
{
	char name[IFNAMSIZ];
	if (len < 7 || copy_name(name, p + 6, len - 6) != 0)
		return agent_err_set(e, EINVAL, "network: bad NET_DETACH frame (%zu bytes)", len);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return agent_err_sys(e, errno, "network: socket");
	int rc = set_down(s, name, e);
	/* Setting 0.0.0.0 removes the interface's address (and its routes). */
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	static const uint8_t zero[4];
	set_sin(&ifr.ifr_addr, zero);
	if (rc == 0 && ioctl(s, SIOCSIFADDR, &ifr) != 0 && errno != EADDRNOTAVAIL)
		rc = ifreq_call(s, SIOCSIFADDR, &ifr, "remove address", e);
	const struct spare_req *sp = spare_by_mac(st, p);
	if (rc == 0 && sp)
		rc = set_mac(s, name, sp->mac, e);
	if (rc == 0 && sp)
		rc = rename_nic(s, name, sp->name, e);
	close(s);
	return rc;
}
