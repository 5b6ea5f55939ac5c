/* Guest network: the container's interfaces (found by MAC), addresses, routes, DNS relay flag. */
#ifndef RUNCVM_NET_H
#define RUNCVM_NET_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "agenterr.h"

struct nic_req {
	uint8_t mac[6];
	uint16_t mtu;
	uint8_t prefix;
	uint8_t ip[4]; /* 0.0.0.0: no address */
	char name[IFNAMSIZ];
};

struct route_req {
	uint8_t dst[4];
	uint8_t prefix;
	uint8_t gw[4]; /* 0.0.0.0: a device route */
	char dev[IFNAMSIZ];
};

/* A NIC kept down for docker network connect on the running container (NET_ATTACH). */
struct spare_req {
	uint8_t mac[6];
	char name[IFNAMSIZ];
};

struct net_config {
	struct nic_req *nics;
	size_t nnics;
	struct spare_req *spares;
	size_t nspares;
	struct route_req *routes;
	size_t nroutes;
	int dns_relay;
};

/* What the network keeps after CONFIG: the spares, for NET_ATTACH/NET_DETACH. One per agent, in
 * struct agent (agent.h); starts empty (zeroed). */
struct net_state {
	struct spare_req *spares;
	size_t nspares;
};

/* CONFIG tags 7 (NIC), 8 (ROUTE), 9 (DNS_RELAY), 11 (SPARE). Returns 0, -1 for a bad record, 1 if
 * not ours. */
int net_config_record(struct net_config *n, uint16_t tag, const uint8_t *v, uint32_t len);
void net_config_free(struct net_config *n);
/* Brings lo up, configures each NIC and adds the routes. 0, or -1 with e filled. */
int net_setup(struct net_state *st, const struct net_config *n, struct agent_err *e);
/* A NIC outside the container's set (the volume link): found by MAC, named, configured, up. */
int net_configure_link(const struct nic_req *r, struct agent_err *e);
/* NET_ATTACH / NET_DETACH frames. 0, or -1 with e filled. */
int net_attach(const uint8_t *p, size_t len, struct agent_err *e);
int net_detach(const struct net_state *st, const uint8_t *p, size_t len, struct agent_err *e);

#endif
