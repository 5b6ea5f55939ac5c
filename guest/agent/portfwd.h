/*
 * A CRI PortForward stream in a pod VM (START with PORT, docs/agent-protocol.md): the process the
 * agent forks connects to localhost:PORT in the VM's network namespace, which every container of
 * the pod shares, and copies its stdin to the connection and the connection to its stdout.
 */
#ifndef RUNCVM_PORTFWD_H
#define RUNCVM_PORTFWD_H

#include <stdint.h>

/* Connects to 127.0.0.1:port, then [::1]:port (containerd's order on the host). The connected
 * socket, or -1 with errno from the IPv4 attempt. */
int portfwd_dial(uint16_t port);
/* Copies in -> sock (then shuts sock's write side) and sock -> out until sock's read side ends or
 * fails. 0, or -1 with errno on a failed copy. Bounded: 64 KiB buffered per direction. */
int portfwd_relay(int in, int out, int sock);

#endif
