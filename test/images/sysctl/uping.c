/* One ICMP echo to an IPv4 address through an unprivileged ICMP socket (SOCK_DGRAM,
 * IPPROTO_ICMP), as iputils ping does for users without CAP_NET_RAW: allowed only for a group in
 * net.ipv4.ping_group_range. `uping ADDR`: exit 0 on a reply within 5 s. busybox ping needs a raw
 * socket, so it cannot test this. Used by test/e2e/sysctl.test.ts. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	if (argc != 2 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "usage: uping IPV4-ADDRESS\n");
		return 2;
	}
	int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (s < 0) {
		fprintf(stderr,
			"uping: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) as uid %u gid %u: %s\n",
			getuid(), getgid(), strerror(errno));
		return 1;
	}
	struct icmphdr req = {.type = ICMP_ECHO, .un.echo.sequence = htons(1)};
	if (sendto(s, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to) < 0) {
		fprintf(stderr, "uping: sendto %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	struct pollfd p = {s, POLLIN, 0};
	char buf[256];
	if (poll(&p, 1, 5000) != 1 || recv(s, buf, sizeof buf, 0) < (ssize_t)sizeof req ||
	    ((struct icmphdr *)buf)->type != ICMP_ECHOREPLY) {
		fprintf(stderr, "uping: no echo reply from %s within 5 s\n", argv[1]);
		return 1;
	}
	printf("uping: echo reply from %s\n", argv[1]);
	return 0;
}
