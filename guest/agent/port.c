#include "port.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define PORTS_DIR "/sys/class/virtio-ports"

/* Without udev there are no /dev/virtio-ports/ links: match the sysfs name attribute. */
static int name_matches(const char *dev, const char *name)
{
	char path[320], buf[128];
	snprintf(path, sizeof path, PORTS_DIR "/%s/name", dev);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return strcmp(buf, name) == 0;
}

static int find_port(const char *name, char *dev, size_t devlen)
{
	DIR *d = opendir(PORTS_DIR);
	if (!d)
		return -1;
	struct dirent *e;
	int found = -1;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "vport", 5) != 0 || !name_matches(e->d_name, name))
			continue;
		snprintf(dev, devlen, "/dev/%s", e->d_name);
		found = 0;
		break;
	}
	closedir(d);
	return found;
}

int port_try_open(const char *name)
{
	char dev[300];
	if (find_port(name, dev, sizeof dev) != 0)
		return PORT_ABSENT;
	/* The port allows one open at a time: open it once, read-write. */
	int fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return PORT_ABSENT; /* listed in sysfs, device node not there yet */
	log_error("open %s: %s", dev, strerror(errno));
	return PORT_FAILED;
}
