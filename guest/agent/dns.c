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

#define SLOTS	    DNS_SLOTS
#define MAX_DNS	    DNS_MAX
#define TCP_CLIENTS DNS_TCP_CLIENTS

void dns_relay_init(struct dns_relay *d, struct chan *ch)
{
	memset(d, 0, sizeof *d);
	d->ch = ch;
	d->udp_fd = d->tcp_listener = -1;
	d->next_token = d->tcp_seq = 1;
	for (int i = 0; i < TCP_CLIENTS; i++)
		d->tcp[i].fd = -1;
}

static void tcp_close(struct dns_relay *d, int i)
{
	if (d->tcp[i].fd >= 0 && close(d->tcp[i].fd) != 0)
		log_error("dns relay: close: %s", strerror(errno));
	d->tcp[i].fd = -1;
	d->tcp[i].token = 0;
}

static void dns_tcp_answer(struct dns_relay *d, const uint8_t *msg, size_t len, uint32_t token)
{
	int i = (int)(token & 0xf);
	if (i >= TCP_CLIENTS || d->tcp[i].fd < 0 || d->tcp[i].token != token)
		return; /* the client went away, or its slot was taken */
	uint8_t n[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	/* Never blocks the agent: a client that does not take its answer at once loses it. */
	if (len > 0xffff || send(d->tcp[i].fd, n, 2, MSG_DONTWAIT | MSG_NOSIGNAL) != 2 ||
	    send(d->tcp[i].fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		log_debug("dns relay: a TCP client did not take its answer");
	tcp_close(d, i);
}

int dns_relay_open(struct dns_relay *d)
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
	d->udp_fd = fd;
	return 0;
}

void dns_relay_readable(struct dns_relay *d)
{
	int fd = d->udp_fd;
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
		uint32_t token = d->next_token++ & ~DNS_TOKEN_TCP;
		d->slots[token % SLOTS].token = token;
		d->slots[token % SLOTS].client = from;
		put_u32(buf, token);
		if (proto_send(d->ch, MSG_DNS, 0, buf, 4 + (size_t)n, NULL, 0) != 0)
			log_error("dns relay: cannot forward a query to the host");
	}
}

void dns_relay_answer(struct dns_relay *d, const uint8_t *payload, size_t len)
{
	int fd = d->udp_fd;
	if (fd < 0 || len < 4)
		return;
	uint32_t token = get_u32(payload);
	if (token & DNS_TOKEN_TCP) {
		dns_tcp_answer(d, payload + 4, len - 4, token);
		return;
	}
	if (d->slots[token % SLOTS].token != token) {
		log_debug("dns relay: dropping a late answer (token %u)", token);
		return;
	}
	d->slots[token % SLOTS].token = 0;
	const struct sockaddr_in *to = &d->slots[token % SLOTS].client;
	if (sendto(fd, payload + 4, len - 4, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		log_error("dns relay: sendto: %s", strerror(errno));
}

int dns_tcp_open(struct dns_relay *d)
{
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
	d->tcp_listener = fd;
	return 0;
}

size_t dns_tcp_fill_poll(const struct dns_relay *d, struct pollfd *p, size_t max)
{
	size_t n = 0;
	if (d->tcp_listener < 0 || max == 0)
		return 0;
	p[n++] = (struct pollfd){d->tcp_listener, POLLIN, 0};
	for (int i = 0; i < TCP_CLIENTS && n < max; i++)
		if (d->tcp[i].fd >= 0)
			p[n++] = (struct pollfd){d->tcp[i].fd,
						 (short)(d->tcp[i].token ? 0 : POLLIN), 0};
	return n;
}

static void tcp_accept(struct dns_relay *d)
{
	int fd = accept4(d->tcp_listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("dns relay: accept: %s", strerror(errno));
		return;
	}
	int slot = 0;
	for (int i = 0; i < TCP_CLIENTS; i++) {
		if (d->tcp[i].fd < 0) {
			slot = i;
			break;
		}
		if (d->tcp[i].seq < d->tcp[slot].seq)
			slot = i;
	}
	tcp_close(d, slot);
	d->tcp[slot].fd = fd;
	d->tcp[slot].seq = d->tcp_seq++;
	d->tcp[slot].have = 0;
}

static void tcp_readable(struct dns_relay *d, int i)
{
	ssize_t r = read(d->tcp[i].fd, d->tcp[i].buf + d->tcp[i].have,
			 sizeof d->tcp[i].buf - d->tcp[i].have);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		tcp_close(d, i);
		return;
	}
	d->tcp[i].have += (size_t)r;
	if (d->tcp[i].have < 2)
		return;
	size_t want = (size_t)d->tcp[i].buf[0] << 8 | d->tcp[i].buf[1];
	if (want == 0 || want > MAX_DNS) {
		tcp_close(d, i);
		return;
	}
	if (d->tcp[i].have < 2 + want)
		return;
	uint32_t token = DNS_TOKEN_TCP | (d->tcp[i].seq & 0x7ffffff) << 4 | (uint32_t)i;
	d->tcp[i].token = token;
	uint8_t t[4];
	put_u32(t, token);
	if (proto_send(d->ch, MSG_DNS, 0, t, 4, d->tcp[i].buf + 2, want) != 0) {
		log_error("dns relay: cannot forward a query to the host");
		tcp_close(d, i);
	}
}

void dns_tcp_handle_poll(struct dns_relay *d, const struct pollfd *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (!p[k].revents)
			continue;
		if (p[k].fd == d->tcp_listener) {
			tcp_accept(d);
			continue;
		}
		for (int i = 0; i < TCP_CLIENTS; i++)
			if (d->tcp[i].fd == p[k].fd) {
				tcp_readable(d, i);
				break;
			}
	}
}
