/* The rtnetlink definitions the supervisor needs (musl ships no kernel headers): the kernel's
 * stable ABI from linux/netlink.h and linux/rtnetlink.h, under the same names. */
#ifndef RUNCVM_SUPERVISOR_RTNL_H
#define RUNCVM_SUPERVISOR_RTNL_H
#include <stdint.h>
#include <sys/socket.h>

#define NETLINK_ROUTE	   0
#define RTMGRP_LINK	   0x1
#define RTMGRP_IPV4_IFADDR 0x10

struct sockaddr_nl {
	sa_family_t nl_family;
	unsigned short nl_pad;
	uint32_t nl_pid;
	uint32_t nl_groups;
};

struct nlmsghdr {
	uint32_t nlmsg_len;
	uint16_t nlmsg_type;
	uint16_t nlmsg_flags;
	uint32_t nlmsg_seq;
	uint32_t nlmsg_pid;
};

#define NLM_F_REQUEST 0x1
#define NLM_F_DUMP    0x300
#define NLMSG_ERROR   0x2
#define NLMSG_DONE    0x3

#define NLMSG_ALIGNTO	  4u
#define NLMSG_ALIGN(len)  (((len) + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1))
#define NLMSG_HDRLEN	  ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define NLMSG_DATA(nlh)	  ((void *)(((char *)(nlh)) + NLMSG_HDRLEN))
#define NLMSG_NEXT(nlh, len)                                                                       \
	((len) -= NLMSG_ALIGN((nlh)->nlmsg_len),                                                   \
	 (const struct nlmsghdr *)(((const char *)(nlh)) + NLMSG_ALIGN((nlh)->nlmsg_len)))
#define NLMSG_OK(nlh, len)                                                                         \
	((len) >= (int)sizeof(struct nlmsghdr) && (nlh)->nlmsg_len >= sizeof(struct nlmsghdr) &&   \
	 (nlh)->nlmsg_len <= (unsigned)(len))

#define RTM_NEWLINK 16
#define RTM_DELLINK 17
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_DELADDR 21

struct ifinfomsg {
	unsigned char ifi_family;
	unsigned char __ifi_pad;
	unsigned short ifi_type;
	int ifi_index;
	unsigned ifi_flags;
	unsigned ifi_change;
};

struct rtattr {
	unsigned short rta_len;
	unsigned short rta_type;
};

#define IFLA_IFNAME 3

#define RTA_ALIGNTO    4u
#define RTA_ALIGN(len) (((len) + RTA_ALIGNTO - 1) & ~(RTA_ALIGNTO - 1))
#define RTA_OK(rta, len)                                                                           \
	((len) >= (int)sizeof(struct rtattr) && (rta)->rta_len >= sizeof(struct rtattr) &&         \
	 (rta)->rta_len <= (len))
#define RTA_NEXT(rta, attrlen)                                                                     \
	((attrlen) -= RTA_ALIGN((rta)->rta_len),                                                   \
	 (const struct rtattr *)(((const char *)(rta)) + RTA_ALIGN((rta)->rta_len)))
#define RTA_LENGTH(len)	 (RTA_ALIGN(sizeof(struct rtattr)) + (len))
#define RTA_DATA(rta)	 ((const void *)(((const char *)(rta)) + RTA_LENGTH(0)))
#define RTA_PAYLOAD(rta) ((int)((rta)->rta_len) - (int)RTA_LENGTH(0))
#define IFLA_RTA(r)                                                                                \
	((const struct rtattr *)(((const char *)(r)) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))

#endif
