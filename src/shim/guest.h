/*
 * Asks a pod VM for one of its containers' figures: a START with STATS over the pod socket
 * (<dir>/exec.sock, the launcher's, which relays it to the guest agent), answered by STATS
 * then EXIT, or ERROR. Bounded in time and size: the shim answers containerd either way.
 */
#ifndef RUNCVM_SHIM_GUEST_H
#define RUNCVM_SHIM_GUEST_H

#include <stddef.h>
#include <stdint.h>

/* How long one request may take (the launcher relays it; the agent reads a few cgroup files). */
#define GUEST_TIMEOUT_MS 5000

/* The STATS payload of container name into tlv (cap bytes), *len set. 0, or -1 with err filled
 * and *errnum: the guest's errno (ESRCH: the container is not running in the VM), or the
 * host's (the socket, a timeout: ETIMEDOUT, a bad answer: EPROTO). */
int guest_stats(const char *sockdir, const char *name, int timeout_ms, uint8_t *tlv, size_t cap,
		size_t *len, int *errnum, char *err, size_t errlen);

#endif
