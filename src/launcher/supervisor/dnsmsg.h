/* DNS messages the supervisor makes itself (docs/agent-protocol.md, DNS). */
#ifndef RUNCVM_SUPERVISOR_DNSMSG_H
#define RUNCVM_SUPERVISOR_DNSMSG_H

#include <stddef.h>
#include <stdint.h>

/* SERVFAIL for a query: its id, opcode and RD kept, QR and RA set, RCODE 2, its question echoed
 * when there is exactly one. Returns the length written to out (cap >= len), 0 for a query
 * shorter than a DNS header. The same answer as src/network/dns-limit.ts's servfail. */
size_t dns_servfail(const uint8_t *q, size_t len, uint8_t *out, size_t cap);

#endif
