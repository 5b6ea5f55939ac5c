/* Which changes of the container's network namespace need the net-sync step (Docker connected or
 * disconnected a network), told apart from the ones runcvm's own links make while the VM boots
 * (QEMU opening its taps brings them and their bridges up). The net-sync step starts Node, so a
 * plain container must never need it (docs/architecture.md, "Network changes while running"). */
#ifndef RUNCVM_SUPERVISOR_NETWATCH_H
#define RUNCVM_SUPERVISOR_NETWATCH_H
#include <net/if.h>
#include <stddef.h>

#define NETWATCH_IFACES 16

/* The container's interfaces as create handed them over (handover HO_NET_IFACES). */
struct netwatch_ifaces {
	char name[NETWATCH_IFACES][IF_NAMESIZE];
	int n;
};

/* Parses HO_NET_IFACES: names NUL-separated (an empty record: no interface). 0, or -1. */
int netwatch_parse(struct netwatch_ifaces *w, const unsigned char *v, size_t len);

/* 1 if a batch of rtnetlink notifications holds one that may be Docker's: a link other than lo
 * and runcvm's bridges and taps (br-, tap-) appearing, changing or going, or an IPv4 address added
 * or removed. */
int netwatch_matters(const void *buf, size_t len);

/* Dumps the namespace's links: 0 if the container's interfaces are exactly those of w, 1 if not
 * (a network was connected or disconnected before the watch began), -1 on error (err says). */
int netwatch_differs(const struct netwatch_ifaces *w, char *err, size_t errlen);

#endif
