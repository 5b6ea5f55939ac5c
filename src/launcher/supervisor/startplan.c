#include "startplan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "wireio.h"

static int copy_str(char *dst, size_t cap, const uint8_t *v, uint32_t len)
{
	if (len >= cap || memchr(v, 0, len))
		return -1;
	memcpy(dst, v, len);
	dst[len] = 0;
	return 0;
}

static int add_word(struct startplan *p, size_t *used, char **argv, int *n, int max,
		    const uint8_t *v, uint32_t len)
{
	if (*n == max || len == 0 || *used + len + 1 > sizeof p->buf)
		return -1;
	char *dst = p->buf + *used;
	if (copy_str(dst, len + 1, v, len) != 0)
		return -1;
	argv[(*n)++] = dst;
	argv[*n] = NULL;
	*used += len + 1;
	return 0;
}

int startplan_parse(const uint8_t *buf, size_t len, struct startplan *p, char *err, size_t errlen)
{
	memset(p, 0, sizeof *p);
	size_t used = 0;
	const uint8_t *at = buf;
	size_t left = len;
	uint16_t tag;
	const uint8_t *v;
	uint32_t vlen;
	int r;
	while ((r = tlv_step(&at, &left, &tag, &v, &vlen)) == 1) {
		int bad = 0;
		switch (tag) {
		case HO_FS_ARG:
			bad = add_word(p, &used, p->fs_argv, &p->nfs, STARTPLAN_FS_ARGS, v, vlen);
			break;
		case HO_VMM_ARG:
			bad = add_word(p, &used, p->vmm_argv, &p->nvmm, STARTPLAN_VMM_ARGS, v,
				       vlen);
			break;
		case HO_FS_SOCKET:
			bad = copy_str(p->fs_socket, sizeof p->fs_socket, v, vlen);
			break;
		case HO_START_LINE:
			bad = copy_str(p->start_line, sizeof p->start_line, v, vlen);
			break;
		default: break; /* the handover's records */
		}
		if (bad) {
			snprintf(err, errlen, "start plan: bad record (tag %u, %u bytes)", tag,
				 vlen);
			return -1;
		}
	}
	if (r < 0) {
		snprintf(err, errlen, "start plan: truncated record");
		return -1;
	}
	if (p->nvmm == 0 || p->vmm_argv[0][0] != '/') {
		snprintf(err, errlen, "start plan: no QEMU command line with an absolute binary");
		return -1;
	}
	if ((p->nfs > 0) != (p->fs_socket[0] != 0) || (p->nfs > 0 && p->fs_argv[0][0] != '/')) {
		snprintf(err, errlen,
			 "start plan: virtiofsd needs an absolute binary and its socket");
		return -1;
	}
	return 0;
}

int startplan_read(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
		   size_t errlen)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size <= 0 || (size_t)sb.st_size > max) {
		snprintf(err, errlen, "%s: not a regular file of 1 to %zu bytes", path, max);
		close(fd);
		return -1;
	}
	uint8_t *b = malloc((size_t)sb.st_size);
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)sb.st_size) {
		ssize_t n = read(fd, b + got, (size_t)sb.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "read %s: %s", path,
				 n < 0 ? strerror(errno) : "shorter than its size");
			free(b);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	if (close(fd) != 0 || unlink(path) != 0) {
		snprintf(err, errlen, "close or unlink %s: %s", path, strerror(errno));
		free(b);
		return -1;
	}
	*buf = b;
	*len = got;
	return 1;
}
