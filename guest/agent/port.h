/* Finds and opens the virtio-serial port the host talks to. */
#ifndef RUNCVM_PORT_H
#define RUNCVM_PORT_H

#define AGENT_PORT_NAME "org.runcvm.agent"

enum { PORT_ABSENT = -1, PORT_FAILED = -2 };

/* One attempt: an O_RDWR fd, PORT_ABSENT when the port is not there (yet), or PORT_FAILED. */
int port_try_open(const char *name);

#endif
