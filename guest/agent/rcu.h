/* RCU grace periods while the agent sets the VM up. Renaming a NIC, bringing one up and much of
 * the mount and network setup wait for an RCU grace period (synchronize_rcu). The kernel expedites
 * them until it runs /init and then goes back to normal ones, which wait for timer ticks: under
 * TCG a rename then took ~12 ms, and configuring the container's NIC and two spares ~115 ms of
 * every start; expedited, ~40 ms (docs/performance.md). Normal grace periods come back once the
 * workload runs, so its own RCU behaviour is the kernel default. */
#ifndef RUNCVM_RCU_H
#define RUNCVM_RCU_H

/* Expedited (1) or normal (0) grace periods from now on (/sys/kernel/rcu_expedited). A failure
 * is logged at debug level only: it costs time, never correctness. */
void rcu_expedite(int on);

#endif
