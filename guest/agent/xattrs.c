#include "xattrs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#define OVERLAY_PREFIX "trusted.overlay."

/* One write-back runs at a time (the agent is single-threaded): static buffers of the kernel's
 * limits (XATTR_LIST_MAX, XATTR_SIZE_MAX). */
static char src_names[65536], dst_names[65536], value[65536];

int xattrs_overlay_own(const char *key)
{
	return strncmp(key, OVERLAY_PREFIX, sizeof OVERLAY_PREFIX - 1) == 0;
}

/* /proc/self/fd/<fd>/<name>: the fd's magic link is followed, the name itself is not. */
static const char *path_of(const struct xloc *l, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d/%s", l->fd, l->name);
	return buf;
}

static ssize_t x_list(const struct xloc *l, char *buf, size_t len)
{
	char p[4200];
	return l->name ? llistxattr(path_of(l, p, sizeof p), buf, len)
		       : flistxattr(l->fd, buf, len);
}

static ssize_t x_get(const struct xloc *l, const char *key, void *buf, size_t len)
{
	char p[4200];
	return l->name ? lgetxattr(path_of(l, p, sizeof p), key, buf, len)
		       : fgetxattr(l->fd, key, buf, len);
}

static int x_set(const struct xloc *l, const char *key, const void *buf, size_t len)
{
	char p[4200];
	return l->name ? lsetxattr(path_of(l, p, sizeof p), key, buf, len, 0)
		       : fsetxattr(l->fd, key, buf, len, 0);
}

static int x_remove(const struct xloc *l, const char *key)
{
	char p[4200];
	return l->name ? lremovexattr(path_of(l, p, sizeof p), key) : fremovexattr(l->fd, key);
}

static int listed(const char *names, ssize_t len, const char *key)
{
	for (const char *k = names; k < names + len; k += strlen(k) + 1)
		if (strcmp(k, key) == 0)
			return 1;
	return 0;
}

int xattrs_copy(const struct xloc *src, const struct xloc *dst, int prune, const char *path,
		xattr_loss_fn loss)
{
	ssize_t n = x_list(src, src_names, sizeof src_names);
	if (n < 0)
		return errno == ENOTSUP ? 0 : -1;
	int lost = 0;
	for (const char *k = src_names; k < src_names + n; k += strlen(k) + 1) {
		if (xattrs_overlay_own(k))
			continue;
		ssize_t v = x_get(src, k, value, sizeof value);
		if (v < 0 || x_set(dst, k, value, (size_t)v) != 0) {
			loss(path, k, errno);
			lost++;
		}
	}
	if (!prune)
		return lost;
	ssize_t m = x_list(dst, dst_names, sizeof dst_names);
	if (m < 0) {
		if (errno != ENOTSUP) {
			loss(path, "(list on the host)", errno);
			lost++;
		}
		return lost;
	}
	for (const char *k = dst_names; k < dst_names + m; k += strlen(k) + 1)
		if (!xattrs_overlay_own(k) && !listed(src_names, n, k) && x_remove(dst, k) != 0 &&
		    errno != ENODATA) {
			loss(path, k, errno);
			lost++;
		}
	return lost;
}
