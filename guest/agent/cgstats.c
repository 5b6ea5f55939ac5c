#include "cgstats.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../../src/agent-protocol/wire.h"

/* memory.stat is about 1.5 KiB on 6.x kernels; anything longer is cut (its keys past the cut
 * are then absent, never misread). */
#define FILE_MAX 8192

static int parse_u64(const char *s, size_t n, uint64_t *v)
{
	if (n == 0 || n > 20)
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int cgstats_keyed(const char *text, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n > klen && memcmp(line, key, klen) == 0 && line[klen] == ' ')
			return parse_u64(line + klen + 1, n - klen - 1, v) == 0;
		line = end ? end + 1 : NULL;
	}
	return 0;
}

int cgstats_single(const char *text, uint64_t *v)
{
	size_t n = strcspn(text, "\n");
	if (n == 3 && memcmp(text, "max", 3) == 0) {
		*v = UINT64_MAX;
		return 0;
	}
	return parse_u64(text, n, v);
}

/* dirfd-relative read of a whole small file into buf (NUL-terminated). 0 or -1 (errno). */
static int read_file(int dirfd, const char *name, char *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	close(fd);
	return 0;
}

static void put(uint8_t *out, size_t *len, uint16_t tag, uint64_t v)
{
	if (*len + 14 > CGSTATS_MAX)
		return;
	uint8_t *p = out + *len;
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	p[2] = 8;
	p[3] = p[4] = p[5] = 0;
	for (int i = 0; i < 8; i++)
		p[6 + i] = (uint8_t)(v >> (8 * i));
	*len += 14;
}

static void single(int dirfd, const char *file, uint16_t tag, uint8_t *out, size_t *len)
{
	char buf[64];
	uint64_t v;
	if (read_file(dirfd, file, buf, sizeof buf) == 0 && cgstats_single(buf, &v) == 0)
		put(out, len, tag, v);
}

struct keyed_field {
	const char *key;
	uint16_t tag;
};

static const struct keyed_field MEMORY_STAT[] = {
	{"anon", STAT_ANON},
	{"file", STAT_FILE},
	{"kernel_stack", STAT_KERNEL_STACK},
	{"slab", STAT_SLAB},
	{"sock", STAT_SOCK},
	{"shmem", STAT_SHMEM},
	{"file_mapped", STAT_FILE_MAPPED},
	{"file_dirty", STAT_FILE_DIRTY},
	{"inactive_anon", STAT_INACTIVE_ANON},
	{"active_anon", STAT_ACTIVE_ANON},
	{"inactive_file", STAT_INACTIVE_FILE},
	{"active_file", STAT_ACTIVE_FILE},
	{"unevictable", STAT_UNEVICTABLE},
	{"pgfault", STAT_PGFAULT},
	{"pgmajfault", STAT_PGMAJFAULT},
};

static const struct keyed_field CPU_STAT[] = {
	{"usage_usec", STAT_CPU_USAGE_USEC},	 {"user_usec", STAT_CPU_USER_USEC},
	{"system_usec", STAT_CPU_SYSTEM_USEC},	 {"nr_periods", STAT_CPU_NR_PERIODS},
	{"nr_throttled", STAT_CPU_NR_THROTTLED}, {"throttled_usec", STAT_CPU_THROTTLED_USEC},
};

static const struct keyed_field MEMORY_EVENTS[] = {
	{"oom_kill", STAT_OOM_KILL},
};

static void keyed(int dirfd, const char *file, const struct keyed_field *f, size_t n, char *buf,
		  uint8_t *out, size_t *len)
{
	uint64_t v;
	if (read_file(dirfd, file, buf, FILE_MAX) != 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (cgstats_keyed(buf, f[i].key, &v))
			put(out, len, f[i].tag, v);
}

int cgstats_collect(const char *dir, uint8_t *out, size_t *len)
{
	*len = 0;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return -1;
	char buf[FILE_MAX];
	uint64_t usage;
	if (read_file(dirfd, "memory.current", buf, sizeof buf) != 0) {
		int err = errno;
		close(dirfd);
		errno = err;
		return -1;
	}
	if (cgstats_single(buf, &usage) != 0) {
		close(dirfd);
		errno = EPROTO;
		return -1;
	}
	put(out, len, STAT_MEMORY_USAGE, usage);
	single(dirfd, "memory.max", STAT_MEMORY_LIMIT, out, len);
	single(dirfd, "memory.swap.current", STAT_SWAP_USAGE, out, len);
	single(dirfd, "memory.swap.max", STAT_SWAP_LIMIT, out, len);
	single(dirfd, "pids.current", STAT_PIDS_CURRENT, out, len);
	single(dirfd, "pids.max", STAT_PIDS_LIMIT, out, len);
	keyed(dirfd, "memory.stat", MEMORY_STAT, sizeof MEMORY_STAT / sizeof *MEMORY_STAT, buf, out,
	      len);
	keyed(dirfd, "cpu.stat", CPU_STAT, sizeof CPU_STAT / sizeof *CPU_STAT, buf, out, len);
	keyed(dirfd, "memory.events", MEMORY_EVENTS, sizeof MEMORY_EVENTS / sizeof *MEMORY_EVENTS,
	      buf, out, len);
	close(dirfd);
	return 0;
}
