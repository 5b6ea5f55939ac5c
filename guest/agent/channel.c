#include "channel.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "port.h"

#define VIRTIO_DEVICES "/sys/bus/virtio/devices"
/* Device IDs from the virtio specification (include/uapi/linux/virtio_ids.h). */
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_VSOCK	  19

/* musl has no kernel headers: the fixed ABI of <linux/vm_sockets.h>. */
struct sockaddr_vm {
	sa_family_t svm_family;
	unsigned short svm_reserved1;
	unsigned int svm_port;
	unsigned int svm_cid;
	unsigned char svm_zero[4];
};
#define VMADDR_CID_ANY 0xFFFFFFFFu

static long device_id(const char *dir, const char *dev)
{
	char path[320], buf[32];
	snprintf(path, sizeof path, "%s/%s/device", dir, dev);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 0); /* "0x0013\n" */
}

int channel_virtio_devices(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int has = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		long id = device_id(dir, e->d_name);
		if (id == VIRTIO_ID_CONSOLE)
			has |= VIRTIO_HAS_CONSOLE;
		else if (id == VIRTIO_ID_VSOCK)
			has |= VIRTIO_HAS_VSOCK;
	}
	closedir(d);
	return has;
}

int vsock_listen(unsigned port)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_vm addr = {
		.svm_family = AF_VSOCK, .svm_port = port, .svm_cid = VMADDR_CID_ANY};
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 1) != 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* One host connection; the listener is closed since a session never resumes (agent-protocol.md). */
static int vsock_accept_host(unsigned port)
{
	int lfd = vsock_listen(port);
	if (lfd < 0) {
		log_error("vsock listen on port %u: %s", port, strerror(errno));
		return -1;
	}
	log_debug("agent channel: waiting on vsock port %u", port);
	int fd;
	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		log_error("vsock accept on port %u: %s", port, strerror(errno));
	close(lfd);
	return fd;
}

int channel_open(const char *port_name, int timeout_ms)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int has = 0;
	/* The serial port shows up only after virtio_console has probed, which is asynchronous, so
	 * a console device means "wait for the port"; vsock is the channel only where there is none
	 * (Firecracker), and QEMU with both keeps using the port. */
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int fd = port_try_open(port_name);
		if (fd >= 0) {
			log_debug("agent channel: virtio port %s after %d ms", port_name, waited);
			return fd;
		}
		if (fd == PORT_FAILED)
			return -1;
		has = channel_virtio_devices(VIRTIO_DEVICES);
		if (has == VIRTIO_HAS_VSOCK)
			return vsock_accept_host(AGENT_VSOCK_PORT);
		nanosleep(&pause, NULL);
	}
	log_error("no agent channel after %d ms: virtio port %s not found%s", timeout_ms, port_name,
		  has & VIRTIO_HAS_CONSOLE ? "" : " and no virtio-vsock device");
	errno = ENODEV;
	return -1;
}
