#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
		uint32_t token = next_token++;
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
	if (slots[token % SLOTS].token != token) {
		log_debug("dns relay: dropping a late answer (token %u)", token);
		return;
	}
	slots[token % SLOTS].token = 0;
	const struct sockaddr_in *to = &slots[token % SLOTS].client;
	if (sendto(fd, payload + 4, len - 4, 0, (const struct sockaddr *)to, sizeof *to) < 0)
		log_error("dns relay: sendto: %s", strerror(errno));
}
