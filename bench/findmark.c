/* findmark FILE TIMEOUT_MS STRING...: polls FILE (a sparse drive image or a plain file; only its
 * allocated extents are read, found with SEEK_DATA/SEEK_HOLE) until every STRING occurs in it,
 * then prints the milliseconds that took. Exit 1 with "timeout" when they did not all appear.
 * Built by bench/durability.ts with the host's C compiler. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	    (8u << 20)
#define MAX_STRINGS 8

static char buf[CHUNK + 256];

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Marks in found[] each string seen in the file's data; the chunks overlap by 255 bytes. */
static void scan(int fd, char **s, int n, int *found)
{
	off_t pos = 0;
	for (;;) {
		off_t data = lseek(fd, pos, SEEK_DATA);
		if (data < 0)
			return; /* ENXIO: no data past pos */
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return;
		for (off_t off = data; off < hole;) {
			size_t want = (size_t)(hole - off) < CHUNK ? (size_t)(hole - off) : CHUNK;
			ssize_t got = pread(fd, buf, want, off);
			if (got <= 0)
				return;
			for (int i = 0; i < n; i++)
				if (!found[i] && memmem(buf, (size_t)got, s[i], strlen(s[i])))
					found[i] = 1;
			off += got > 255 && (size_t)got == want && off + got < hole ? got - 255
										    : got;
		}
		pos = hole;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc - 3 > MAX_STRINGS) {
		fprintf(stderr, "usage: findmark FILE TIMEOUT_MS STRING...\n");
		return 2;
	}
	long long t0 = now_ms(), limit = atoll(argv[2]);
	int found[MAX_STRINGS] = {0}, n = argc - 3;
	for (;;) {
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			scan(fd, argv + 3, n, found);
			close(fd);
		} else if (errno != ENOENT) {
			fprintf(stderr, "findmark: open %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		int all = 1;
		for (int i = 0; i < n; i++)
			all &= found[i];
		if (all) {
			printf("%lld\n", now_ms() - t0);
			return 0;
		}
		if (now_ms() - t0 > limit) {
			printf("timeout\n");
			return 1;
		}
		usleep(10000);
	}
}
