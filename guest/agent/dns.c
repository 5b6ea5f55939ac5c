#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"

/* Outstanding queries: the token's low bits index the slot, so a late answer for a reused slot
 * is dropped by the full-token check. */
#define SLOTS	256
#define MAX_DNS 4096

static struct {
	uint32_t token;
	struct sockaddr_in client;
} slots[SLOTS];
static uint32_t next_token = 1;

/* TCP clients: one query each (2-byte length, then the message), answered and closed. A client
 * that never sends makes room for a new one (the oldest goes). */
#define TCP_CLIENTS (DNS_TCP_POLL_MAX - 1)
static struct {
	int fd;
	uint32_t token; /* DNS_TOKEN_TCP | sequence << 4 | slot; 0 while reading the query */
	uint32_t seq;
	size_t have;
	uint8_t buf[2 + MAX_DNS];
} tcp[TCP_CLIENTS];
static int tcp_listener = -1;
static uint32_t tcp_seq = 1;

static void tcp_close(int i)
{
	if (tcp[i].fd >= 0 && close(tcp[i].fd) != 0)
		log_error("dns relay: close: %s", strerror(errno));
	tcp[i].fd = -1;
	tcp[i].token = 0;
}

static void dns_tcp_answer(const uint8_t *msg, size_t len, uint32_t token)
{
	int i = (int)(token & 0xf);
	if (i >= TCP_CLIENTS || tcp[i].fd < 0 || tcp[i].token != token)
		return; /* the client went away, or its slot was taken */
	uint8_t n[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	/* Never blocks the agent: a client that does not take its answer at once loses it. */
	if (len > 0xffff || send(tcp[i].fd, n, 2, MSG_DONTWAIT | MSG_NOSIGNAL) != 2 ||
	    send(tcp[i].fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		log_debug("dns relay: a TCP client did not take its answer");
	tcp_close(i);
}

int dns_relay_open(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_error("dns relay: socket: %s", strerror(errno));
		return -1;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	a.sin_addr.s_addr = htonl(0x7f00000b); /* 127.0.0.11 */
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		log_error("dns relay: bind 127.0.0.11:53: %s", strerror(errno));
		close(fd);
		return -1;
	}
	log_debug("dns relay listening on 127.0.0.11:53");
	return fd;
}

void dns_relay_readable(int fd)
{
	uint8_t buf[4 + MAX_DNS];
	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof from;
		ssize_t n = recvfrom(fd, buf + 4, MAX_DNS, 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_error("dns relay: recvfrom: %s", strerror(errno));
			return;
		}
		uint32_t token = next_token++ & ~DNS_TOKEN_TCP;
		slots[token % SLOTS].token = token;
		slots[token % SLOTS].client = from;
		put_u32(buf, token);
		if (proto_send(MSG_DNS, 0, buf, 4 + (size_t)n, NULL, 0) != 0)
			log_error("dns relay: cannot forward a query to the host");
	}
}

void dns_relay_answer(int fd, const uint8_t *payload, size_t len)
{
	if (fd < 0 || len < 4)
		return;
	uint32_t token = get_u32(payload);
	if (token & DNS_TOKEN_TCP) {
		dns_tcp_answer(payload + 4, len - 4, token);
		return;
	}
	if (slots[token % SLOTS].token != token) {
		log_debug("dns relay: dropping a late answer (token %u)", token);
		return;
	}
	slots[token % SLOTS].token = 0;
	const struct sockaddr_in *to = &slots[token % SLOTS].client;
	if (sendto(fd, payload + 4, len - 4, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		log_error("dns relay: sendto: %s", strerror(errno));
}

int dns_tcp_open(void)
{
	for (int i = 0; i < TCP_CLIENTS; i++)
		tcp[i].fd = -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_error("dns relay: tcp socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	a.sin_addr.s_addr = htonl(0x7f00000b); /* 127.0.0.11 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, TCP_CLIENTS) != 0) {
		log_error("dns relay: tcp 127.0.0.11:53: %s", strerror(errno));
		close(fd);
		return -1;
	}
	tcp_listener = fd;
	return fd;
}

size_t dns_tcp_fill_poll(struct pollfd *p, size_t max)
{
	size_t n = 0;
	if (tcp_listener < 0 || max == 0)
		return 0;
	p[n++] = (struct pollfd){tcp_listener, POLLIN, 0};
	for (int i = 0; i < TCP_CLIENTS && n < max; i++)
		if (tcp[i].fd >= 0)
			p[n++] = (struct pollfd){tcp[i].fd, (short)(tcp[i].token ? 0 : POLLIN), 0};
	return n;
}

static void tcp_accept(void)
{
	int fd = accept4(tcp_listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("dns relay: accept: %s", strerror(errno));
		return;
	}
	int slot = 0;
	for (int i = 0; i < TCP_CLIENTS; i++) {
		if (tcp[i].fd < 0) {
			slot = i;
			break;
		}
		if (tcp[i].seq < tcp[slot].seq)
			slot = i;
	}
	tcp_close(slot);
	tcp[slot].fd = fd;
	tcp[slot].seq = tcp_seq++;
	tcp[slot].have = 0;
}

static void tcp_readable(int i)
{
	ssize_t r = read(tcp[i].fd, tcp[i].buf + tcp[i].have, sizeof tcp[i].buf - tcp[i].have);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		tcp_close(i);
		return;
	}
	tcp[i].have += (size_t)r;
	if (tcp[i].have < 2)
		return;
	size_t want = (size_t)tcp[i].buf[0] << 8 | tcp[i].buf[1];
	if (want == 0 || want > MAX_DNS) {
		tcp_close(i);
		return;
	}
	if (tcp[i].have < 2 + want)
		return;
	uint32_t token = DNS_TOKEN_TCP | (tcp[i].seq & 0x7ffffff) << 4 | (uint32_t)i;
	tcp[i].token = token;
	uint8_t t[4];
	put_u32(t, token);
	if (proto_send(MSG_DNS, 0, t, 4, tcp[i].buf + 2, want) != 0) {
		log_error("dns relay: cannot forward a query to the host");
		tcp_close(i);
	}
}

void dns_tcp_handle_poll(const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (p[k].fd == tcp_listener) {
			tcp_accept();
			continue;
		}
		for (int i = 0; i < TCP_CLIENTS; i++)
			if (tcp[i].fd == p[k].fd) {
				tcp_readable(i);
				break;
			}
	}
}
