/* The agent's one byte stream to the host: a virtio-serial port (QEMU) or vsock (Firecracker). */
#ifndef RUNCVM_CHANNEL_H
#define RUNCVM_CHANNEL_H

/* The vsock port the agent listens on when the VM has no virtio-serial port
 * (docs/agent-protocol.md). */
#define AGENT_VSOCK_PORT 1024

enum { VIRTIO_HAS_CONSOLE = 1, VIRTIO_HAS_VSOCK = 2 };

/* VIRTIO_HAS_* bits for the virtio devices listed under dir (/sys/bus/virtio/devices). */
int channel_virtio_devices(const char *dir);

/* Opens the host channel: the virtio-serial port named port_name when it appears, else, on a VM
 * with a virtio-vsock device and no virtio console at all, the first connection accepted on
 * AGENT_VSOCK_PORT (blocks until the host connects). Returns the fd, or -1 after timeout_ms. */
int channel_open(const char *port_name, int timeout_ms);

/* A vsock stream socket listening on port of any local CID, or -1 (errno set). */
int vsock_listen(unsigned port);

#endif
