/* Finds and opens the virtio-serial port the host talks to. */
#ifndef RUNCVM_PORT_H
#define RUNCVM_PORT_H

#define AGENT_PORT_NAME "org.runcvm.agent"

/* Returns an O_RDWR fd, or -1 (errno set) when the port did not appear within timeout_ms. */
int port_open(const char *name, int timeout_ms);

#endif
