#include "flush.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

static pid_t flusher_pid = -1;
/* Write end of the pipe the flusher waits on (non-blocking: a full pipe is a pending poke). */
static int poke_fd = -1;

static int write_sysctl(const char *path, unsigned value)
{
	char text[16];
	int n = snprintf(text, sizeof text, "%u", value);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, (size_t)n) != n) {
		log_error("flush: set %s to %u: %s", path, value, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (close(fd) != 0) {
		log_error("flush: set %s to %u: %s", path, value, strerror(errno));
		return -1;
	}
	return 0;
}

static long field_kib(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0)
			return strtol(p + n, NULL, 10);
	return -1;
}

long flush_dirty_kib(const char *meminfo)
{
	long dirty = field_kib(meminfo, "Dirty:"), wb = field_kib(meminfo, "Writeback:");
	if (dirty < 0 && wb < 0)
		return -1;
	return (dirty > 0 ? dirty : 0) + (wb > 0 ? wb : 0);
}

/* Dirty + Writeback now; on an unreadable meminfo, 1 (so the flusher syncs: safe, not silent). */
static long dirty_now(int meminfo)
{
	char buf[4096];
	ssize_t n = pread(meminfo, buf, sizeof buf - 1, 0);
	if (n < 0) {
		log_error("flush: read /proc/meminfo: %s", strerror(errno));
		return 1;
	}
	buf[n] = 0;
	long kib = flush_dirty_kib(buf);
	return kib < 0 ? 1 : kib;
}

/* Empties the poke pipe; true if it held anything. */
static int drain(int fd)
{
	char b[64];
	int got = 0;
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0)
		got = 1;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error("flush: read the poke pipe: %s", strerror(errno));
	return got;
}

/* The flusher's loop (a child process: its logs reach the console only). */
static void __attribute__((noreturn)) flusher(int upper, int meminfo, int wake)
{
	for (;;) {
		struct pollfd p = {wake, POLLIN, 0};
		int r = poll(&p, 1, FLUSH_PERIOD_MS);
		if (r < 0 && errno != EINTR) {
			log_error("flush: poll: %s", strerror(errno));
			usleep(FLUSH_PERIOD_MS * 1000);
		}
		int poked = r > 0 && drain(wake);
		if ((poked || dirty_now(meminfo) > 0) && syncfs(upper) != 0)
			log_error("flush: syncfs of the writable drive: %s", strerror(errno));
	}
}

int flush_start(int upper_fd)
{
	/* A bounded backlog makes the time a flush takes bounded too; start writing early. */
	int rc = write_sysctl("/proc/sys/vm/dirty_background_bytes", FLUSH_DIRTY_BACKGROUND_BYTES);
	rc |= write_sysctl("/proc/sys/vm/dirty_bytes", FLUSH_DIRTY_BYTES);
	int meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	if (meminfo < 0) {
		log_error("flush: open /proc/meminfo: %s", strerror(errno));
		return -1;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_error("flush: pipe: %s", strerror(errno));
		close(meminfo);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		log_error("flush: fork the flusher: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(meminfo);
		return -1;
	}
	if (pid == 0) {
		log_port_enable(0);
		close(p[1]);
		flusher(upper_fd, meminfo, p[0]);
	}
	close(p[0]);
	close(meminfo);
	flusher_pid = pid;
	poke_fd = p[1];
	log_debug("flush: flusher pid %d, period %d ms, dirty_bytes %u", pid, FLUSH_PERIOD_MS, FLUSH_DIRTY_BYTES);
	return rc == 0 ? 0 : -1;
}

void flush_now(void)
{
	if (poke_fd < 0)
		return;
	static const char b = 1;
	if (write(poke_fd, &b, 1) != 1 && errno != EAGAIN)
		log_error("flush: poke the flusher: %s", strerror(errno));
}

int flush_reaped(pid_t pid, int status)
{
	if (flusher_pid < 0 || pid != flusher_pid)
		return 0;
	log_error("flush: the flusher (pid %d) ended (status 0x%x): writes now reach the writable drive only at the kernel's pace",
		  pid, status);
	flusher_pid = -1;
	if (poke_fd >= 0)
		close(poke_fd);
	poke_fd = -1;
	return 1;
}
