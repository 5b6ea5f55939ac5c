#include "podlog.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int podlog_open(struct podlog *p, const char *path, size_t budget)
{
	p->left = budget > POD_LOG_MAX ? POD_LOG_MAX : budget;
	p->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	return p->fd < 0 ? -1 : 0;
}

int podlog_copy(struct podlog *p, const void *buf, size_t len)
{
	if (p->fd < 0 || p->left == 0 || len == 0)
		return 0;
	size_t n = len < p->left ? len : p->left;
	const char *b = buf;
	while (n > 0) {
		ssize_t w = write(p->fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w < 0 ? errno : EIO;
			podlog_close(p);
			errno = err;
			return -1;
		}
		b += w;
		n -= (size_t)w;
		p->left -= (size_t)w;
	}
	return 0;
}

void podlog_close(struct podlog *p)
{
	/* The copy is best effort: a close error loses nothing stderr did not get. */
	if (p->fd >= 0 && close(p->fd) != 0) {
	}
	p->fd = -1;
}
