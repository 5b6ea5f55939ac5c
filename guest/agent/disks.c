#include "disks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define FIND_WAIT_MS 2000

/* Reads /sys/block/<name>/serial without its trailing newline. */
static int read_serial(const char *name, char *buf, size_t len)
{
	char path[300];
	snprintf(path, sizeof path, "/sys/block/%s/serial", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return 0;
}

static int scan(const char *serial, char *dev, size_t devlen)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return -1;
	struct dirent *de;
	int found = -1;
	while (found != 0 && (de = readdir(d)) != NULL) {
		char s[64];
		if (strncmp(de->d_name, "vd", 2) != 0 || read_serial(de->d_name, s, sizeof s) != 0)
			continue;
		if (strcmp(s, serial) == 0 && (size_t)snprintf(dev, devlen, "/dev/%s", de->d_name) < devlen)
			found = 0;
	}
	closedir(d);
	return found;
}

int disks_find(const char *serial, char *dev, size_t devlen)
{
	/* virtio-blk probes when its module loads; the wait covers a slow probe, not hotplug. */
	for (int waited = 0;; waited += 20) {
		if (scan(serial, dev, devlen) == 0 && access(dev, F_OK) == 0) {
			log_debug("disk %s is %s", serial, dev);
			return 0;
		}
		if (waited >= FIND_WAIT_MS)
			break;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	errno = ENOENT;
	return -1;
}
