/*
 * The agent's state, in one structure that main.c owns and passes down explicitly: each module
 * gets the part it works on (the process table, the pod's containers, the network, the DNS relay)
 * and keeps nothing of its own between calls. What stays module-wide, and why, is listed in
 * docs/architecture.md ("C: the guest agent's error model and state").
 */
#ifndef RUNCVM_AGENT_H
#define RUNCVM_AGENT_H

#include "dns.h"
#include "net.h"
#include "process.h"
#include "writeback.h"

struct agent {
	int configured;	  /* CONFIG applied: START may run */
	int host_hello;	  /* the host's HELLO of our protocol version arrived */
	int initramfs_fd; /* O_PATH on the initramfs root for the module helper, else -1 */
	struct chan chan; /* to the host; procs, dns and the log borrow it */
	struct procs procs;
	struct ctrs ctrs; /* the pod's containers; procs borrows it */
	struct net_state net;
	struct dns_relay dns;
	struct imgroot img; /* the image root's write-back; procs borrows it */
};

#endif
