/* Relays DNS queries sent to 127.0.0.11:53 (UDP and TCP) in the guest to the host, which asks
 * Docker's embedded DNS in the container's network namespace (docs/agent-protocol.md, DNS). */
#ifndef RUNCVM_DNS_H
#define RUNCVM_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Most poll entries the TCP side needs (the listener and its clients). */
#define DNS_TCP_POLL_MAX 17
/* Outstanding UDP queries: the token's low bits index the slot, so a late answer for a reused
 * slot is dropped by the full-token check. */
#define DNS_SLOTS 256
#define DNS_MAX	  4096
/* TCP clients: one query each (2-byte length, then the message), answered and closed. A client
 * that never sends makes room for a new one (the oldest goes). */
#define DNS_TCP_CLIENTS (DNS_TCP_POLL_MAX - 1)

/* The relay's sockets and the queries in flight. One per agent, in struct agent (agent.h). */
struct chan;
struct dns_relay {
	struct chan *ch;  /* borrowed: the channel to the host */
	int udp_fd;	  /* 127.0.0.11:53 UDP when the container uses Docker's DNS, else -1 */
	int tcp_listener; /* 127.0.0.11:53 TCP, else -1 */
	uint32_t next_token, tcp_seq;
	struct {
		uint32_t token;
		struct sockaddr_in client;
	} slots[DNS_SLOTS];
	struct {
		int fd;
		uint32_t
			token; /* DNS_TOKEN_TCP | sequence << 4 | slot; 0 while reading the query */
		uint32_t seq;
		size_t have;
		uint8_t buf[2 + DNS_MAX];
	} tcp[DNS_TCP_CLIENTS];
};

/* No sockets, no queries; queries go to the host over ch (borrowed). */
void dns_relay_init(struct dns_relay *d, struct chan *ch);
/* Binds 127.0.0.11:53 (UDP) into d->udp_fd; 0, or -1 (logged). lo must be up. */
int dns_relay_open(struct dns_relay *d);
/* The UDP socket is readable: forward each waiting query to the host as a DNS frame. */
void dns_relay_readable(struct dns_relay *d);
/* A DNS frame from the host: send the answer to the client that asked. */
void dns_relay_answer(struct dns_relay *d, const uint8_t *payload, size_t len);

struct pollfd;
/* Binds 127.0.0.11:53 for TCP (queries whose answer did not fit UDP); 0, or -1 when it cannot
 * (logged). */
int dns_tcp_open(struct dns_relay *d);
/* Fills poll entries for the TCP listener and clients; returns how many. */
size_t dns_tcp_fill_poll(const struct dns_relay *d, struct pollfd *p, size_t max);
void dns_tcp_handle_poll(struct dns_relay *d, const struct pollfd *p, size_t n);

#endif
