/* Writes marks into a file through one long-lived mmap(MAP_SHARED), as varnishd keeps its
 * statistics: `mmapw FILE INTERVAL_MS MARK...`. Each MARK (letters and digits) is copied to the
 * start of the mapping; a mark written as `s:MARK` is followed by msync(MS_SYNC). After each mark
 * the name goes to FILE.flag with write(2) (which reaches the host at once), so a reader on the
 * host can time how long the mapped write took to follow. Then the mapping is kept until killed.
 * `mmapw -b FILE KIB SECONDS` instead rewrites every page of a KIB mapping for SECONDS and prints
 * the rate (the cost of writing dirty pages back sooner). Used by test/e2e/sysctl.test.ts and
 * bench/mmap.ts. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAP_LEN 4096

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mmapw: %s %s: ", what, path);
	perror(NULL);
	exit(1);
}

static void flag(const char *path, const char *mark)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open", path);
	size_t n = strlen(mark);
	if (write(fd, mark, n) != (ssize_t)n || close(fd) != 0)
		die("write", path);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Dirties every page of the mapping again and again: what a database or varnish's counters do. */
static int bench(const char *path, long kib, double seconds)
{
	size_t len = (size_t)kib << 10;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open", path);
	if (ftruncate(fd, (off_t)len) != 0)
		die("ftruncate", path);
	unsigned char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap MAP_SHARED", path);
	double t0 = now_s(), t;
	long passes = 0;
	do {
		for (size_t off = 0; off < len; off += 4096)
			map[off]++;
		passes++;
	} while ((t = now_s()) - t0 < seconds);
	if (msync(map, len, MS_SYNC) != 0)
		die("msync", path);
	double total = now_s() - t0;
	printf("mmapw: %ld passes over %ld KiB in %.2f s (msync included): %.1f MiB/s dirtied\n",
	       passes, kib, total, (double)passes * (double)kib / 1024 / total);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "-b") == 0)
		return bench(argv[2], strtol(argv[3], NULL, 10), strtod(argv[4], NULL));
	if (argc < 4) {
		fprintf(stderr, "usage: mmapw FILE INTERVAL_MS MARK|s:MARK...  |  mmapw -b FILE "
				"KIB SECONDS\n");
		return 2;
	}
	char flagpath[4096];
	snprintf(flagpath, sizeof flagpath, "%s.flag", argv[1]);
	long ms = strtol(argv[2], NULL, 10);
	int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open", argv[1]);
	if (ftruncate(fd, MAP_LEN) != 0)
		die("ftruncate", argv[1]);
	char *map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap MAP_SHARED", argv[1]);
	for (int i = 3; i < argc; i++) {
		int sync = strncmp(argv[i], "s:", 2) == 0;
		const char *mark = argv[i] + (sync ? 2 : 0);
		size_t n = strlen(mark);
		if (n == 0 || n >= 64) {
			fprintf(stderr, "mmapw: bad mark %s\n", argv[i]);
			return 2;
		}
		memset(map, 0, 64);
		memcpy(map, mark, n);
		map[n] = '\n';
		if (sync && msync(map, MAP_LEN, MS_SYNC) != 0)
			die("msync", argv[1]);
		flag(flagpath, mark);
		printf("%s %s\n", sync ? "synced" : "wrote", mark);
		fflush(stdout);
		struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&t, NULL);
	}
	for (;;)
		pause();
}
