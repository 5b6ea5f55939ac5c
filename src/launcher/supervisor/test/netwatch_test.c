/* netwatch.c: which rtnetlink notifications start the net-sync step, the handover's interface
 * list, and the first look's link dump in a network namespace of its own. */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../../guest/agent/test/check.h"
#include "../netwatch.h"
#include "../rtnl.h"

extern int failures;

/* One RTM_*LINK message for name (none when NULL), family AF_UNSPEC unless given. */
static size_t link_msg(uint8_t *out, uint16_t type, unsigned char family, const char *name)
{
	struct nlmsghdr *h = (void *)out;
	struct ifinfomsg *i = NLMSG_DATA(h);
	memset(out, 0, 128);
	i->ifi_family = family;
	size_t len = NLMSG_LENGTH(sizeof *i);
	if (name) {
		struct rtattr *a = (void *)(out + NLMSG_ALIGN(len));
		a->rta_type = IFLA_IFNAME;
		a->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
		memcpy((char *)a + RTA_LENGTH(0), name, strlen(name) + 1);
		len = NLMSG_ALIGN(len) + RTA_ALIGN(a->rta_len);
	}
	h->nlmsg_len = (uint32_t)len;
	h->nlmsg_type = type;
	return len;
}

static void matters_tests(void)
{
	uint8_t buf[1024];
	size_t n = 0;
	/* What QEMU opening its taps makes while the guest boots: never a reason to sync. */
	n += link_msg(buf + n, RTM_NEWLINK, 0, "tap-eth0");
	n += link_msg(buf + n, RTM_NEWLINK, 0, "br-eth0");
	n += link_msg(buf + n, RTM_NEWLINK, 0, "tap-spare0");
	n += link_msg(buf + n, RTM_NEWLINK, 7 /* AF_BRIDGE */, "eth0");
	n += link_msg(buf + n, RTM_NEWLINK, 0, "lo");
	CHECK(netwatch_matters(buf, n) == 0);
	/* Docker connecting a network: a new link of its own. */
	size_t m = n + link_msg(buf + n, RTM_NEWLINK, 0, "eth1");
	CHECK(netwatch_matters(buf, m) == 1);
	/* Disconnecting one. */
	m = n + link_msg(buf + n, RTM_DELLINK, 0, "eth0");
	CHECK(netwatch_matters(buf, m) == 1);
	/* An address, or a link message without a name: looked at, to be safe. */
	m = n + link_msg(buf + n, RTM_NEWADDR, 0, NULL);
	CHECK(netwatch_matters(buf, m) == 1);
	m = n + link_msg(buf + n, RTM_NEWLINK, 0, NULL);
	CHECK(netwatch_matters(buf, m) == 1);
	/* A truncated message ends the walk. */
	CHECK(netwatch_matters(buf, 3) == 0);
}

static void ifaces_tests(void)
{
	struct netwatch_ifaces w;
	CHECK(netwatch_parse(&w, (const unsigned char *)"", 0) == 0 && w.n == 0);
	CHECK(netwatch_parse(&w, (const unsigned char *)"eth0\0eth1", 9) == 0 && w.n == 2 &&
	      strcmp(w.name[1], "eth1") == 0);
	CHECK(netwatch_parse(&w, (const unsigned char *)"eth0\0\0eth1", 10) == -1);
	CHECK(netwatch_parse(&w, (const unsigned char *)"abcdefghijklmnopq", 17) == -1);
	char many[17 * 3];
	for (int i = 0; i < 17; i++)
		memcpy(many + i * 3, "e1", 3);
	CHECK(netwatch_parse(&w, (const unsigned char *)many, sizeof many - 1) == -1);
}

/* In a new network namespace (root only): lo alone, then a veth pair, one end named like
 * Docker's link, the other like a runcvm tap. */
static void differs_tests(void)
{
	if (geteuid() != 0) {
		puts("netwatch: not root, the namespace tests are skipped");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0)
			_exit(2);
		struct netwatch_ifaces none = {.n = 0}, eth0 = {.n = 1};
		strcpy(eth0.name[0], "eth0");
		char err[160] = "";
		int bad = 0;
		bad |= netwatch_differs(&none, err, sizeof err) != 0;
		bad |= (netwatch_differs(&eth0, err, sizeof err) != 1) << 1;
		if (system("ip link add eth0 type veth peer name tap-eth0") != 0)
			_exit(3);
		bad |= (netwatch_differs(&eth0, err, sizeof err) != 0) << 2;
		bad |= (netwatch_differs(&none, err, sizeof err) != 1) << 3;
		if (bad)
			fprintf(stderr, "netwatch_differs: checks 0x%x failed (%s)\n", bad, err);
		_exit(bad ? 1 : 0);
	}
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

void netwatch_test_all(void)
{
	matters_tests();
	ifaces_tests();
	differs_tests();
}
