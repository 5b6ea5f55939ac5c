#include "disks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define FIND_WAIT_MS 2000
#define MAX_DISKS    64

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
		if (strcmp(s, serial) == 0 &&
		    (size_t)snprintf(dev, devlen, "/dev/%s", de->d_name) < devlen)
			found = 0;
	}
	closedir(d);
	return found;
}

/* Start address of a platform device's MMIO window, from /proc/iomem lines "a-b : name". */
static int iomem_start(const char *iomem, const char *device, unsigned long long *start)
{
	FILE *f = fopen(iomem, "re");
	if (!f)
		return -1;
	char line[512], name[256];
	unsigned long long a, b;
	int found = -1;
	while (found != 0 && fgets(line, sizeof line, f)) {
		const char *p = line + strspn(line, " ");
		if (sscanf(p, "%llx-%llx : %255[^\n]", &a, &b, name) == 3 &&
		    strcmp(name, device) == 0) {
			*start = a;
			found = 0;
		}
	}
	fclose(f);
	return found;
}

struct blk {
	char name[256];
	unsigned long long mmio; /* ULLONG_MAX: unknown */
	unsigned long virtio;	 /* the N of virtioN */
};

/* <sys_block>/<name>/device resolves to .../<platform device>/virtioN. */
static int blk_describe(const char *sys_block, const char *iomem, const char *name, struct blk *b)
{
	char link[PATH_MAX], real[PATH_MAX];
	snprintf(link, sizeof link, "%s/%s/device", sys_block, name);
	if (!realpath(link, real))
		return -1;
	if ((size_t)snprintf(b->name, sizeof b->name, "%s", name) >= sizeof b->name)
		return -1;
	char *virtio = strrchr(real, '/');
	if (!virtio || sscanf(virtio + 1, "virtio%lu", &b->virtio) != 1)
		return -1;
	*virtio = 0;
	if (iomem_start(iomem, basename(real), &b->mmio) != 0)
		b->mmio = ULLONG_MAX;
	return 0;
}

static int by_mmio(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->mmio < y->mmio ? -1 : x->mmio > y->mmio;
}

static int by_virtio(const void *a, const void *b)
{
	const struct blk *x = a, *y = b;
	return x->virtio < y->virtio ? -1 : x->virtio > y->virtio;
}

int disks_nth(const char *sys_block, const char *iomem, size_t index, char *name, size_t namelen)
{
	struct blk all[MAX_DISKS];
	size_t n = 0;
	int addresses = 1;
	DIR *d = opendir(sys_block);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < MAX_DISKS) {
		if (strncmp(de->d_name, "vd", 2) != 0 ||
		    blk_describe(sys_block, iomem, de->d_name, &all[n]) != 0)
			continue;
		addresses &= all[n].mmio != ULLONG_MAX;
		n++;
	}
	closedir(d);
	if (index >= n)
		return -1;
	/* The VMM places its devices at rising MMIO addresses in the order they were attached; the
	 * virtioN numbers (probe order) are the fallback when the addresses are not readable. */
	qsort(all, n, sizeof *all, addresses ? by_mmio : by_virtio);
	return (size_t)snprintf(name, namelen, "%s", all[index].name) < namelen ? 0 : -1;
}

/* Firecracker drives have no serial: the host listed the serials in attach order instead. */
static int find_by_order(char *const *order, size_t norder, const char *serial, char *dev,
			 size_t devlen)
{
	for (size_t i = 0; i < norder; i++) {
		char name[64];
		if (strcmp(order[i], serial) != 0)
			continue;
		if (disks_nth("/sys/block", "/proc/iomem", i, name, sizeof name) != 0)
			return -1;
		return (size_t)snprintf(dev, devlen, "/dev/%s", name) < devlen ? 0 : -1;
	}
	return -1;
}

int disks_find(char *const *order, size_t norder, const char *serial, char *dev, size_t devlen)
{
	/* virtio-blk probes when its module loads; the wait covers a slow probe, not hotplug. */
	for (int waited = 0;; waited += 20) {
		int r = norder > 0 ? find_by_order(order, norder, serial, dev, devlen)
				   : scan(serial, dev, devlen);
		if (r == 0 && access(dev, F_OK) == 0) {
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
