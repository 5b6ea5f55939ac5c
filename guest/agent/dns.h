/* Relays DNS queries sent to 127.0.0.11:53 (UDP and TCP) in the guest to the host, which asks
 * Docker's embedded DNS in the container's network namespace (docs/agent-protocol.md, DNS). */
#ifndef RUNCVM_DNS_H
#define RUNCVM_DNS_H

#include <stddef.h>
#include <stdint.h>

/* Binds 127.0.0.11:53; returns the socket or -1 (logged). lo must be up. */
int dns_relay_open(void);
/* The socket is readable: forward each waiting query to the host as a DNS frame. */
void dns_relay_readable(int fd);
/* A DNS frame from the host: send the answer to the client that asked. */
void dns_relay_answer(int fd, const uint8_t *payload, size_t len);

struct pollfd;
/* Most poll entries the TCP side needs (the listener and its clients). */
#define DNS_TCP_POLL_MAX 17
/* Binds 127.0.0.11:53 for TCP (queries whose answer did not fit UDP); -1 when it cannot (logged).
 */
int dns_tcp_open(void);
/* Fills poll entries for the TCP listener and clients; returns how many. */
size_t dns_tcp_fill_poll(struct pollfd *p, size_t max);
void dns_tcp_handle_poll(const struct pollfd *p, size_t n);

#endif
