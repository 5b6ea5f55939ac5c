#include "flush.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "writeback.h"

/* How long the flusher lets a change settle before it syncs. */
#define FLUSH_SETTLE_MS 50
/* Changes that dirty no page: names (create, delete, rename) and attributes (chmod, chown,
 * utimes, xattrs). Overlayfs opens its upper files FMODE_NONOTIFY, so writes raise no event here:
 * they show up as dirty pages instead. */
#define METADATA_EVENTS (FAN_CREATE | FAN_DELETE | FAN_MOVE | FAN_ATTRIB | FAN_ONDIR)

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

/* Dirty + Writeback now; on an unreadable meminfo, 1 (so the flusher syncs: safe, not silent).
 * The kernel counts dirty pages per CPU and adds them up only past a threshold (8 pages here) or
 * once a second, so a one-line append would go unseen: reading vm.stat_refresh adds them up now. */
static long dirty_now(int refresh, int meminfo)
{
	static int refresh_failed;
	char buf[4096];
	if (pread(refresh, buf, 1, 0) < 0 && !refresh_failed) {
		refresh_failed = 1; /* once: this runs twice a second */
		log_error("flush: read /proc/sys/vm/stat_refresh: %s (small writes may wait up to "
			  "1 s longer)",
			  strerror(errno));
	}
	ssize_t n = pread(meminfo, buf, sizeof buf - 1, 0);
	if (n < 0) {
		log_error("flush: read /proc/meminfo: %s", strerror(errno));
		return 1;
	}
	buf[n] = 0;
	long kib = flush_dirty_kib(buf);
	return kib < 0 ? 1 : kib;
}

/* Empties a non-blocking fd (the poke pipe, the fanotify queue); true if it held anything. */
static int drain(int fd, const char *what)
{
	char b[4096];
	int got = 0;
	ssize_t n;
	while ((n = read(fd, b, sizeof b)) > 0)
		got = 1;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error("flush: read %s: %s", what, strerror(errno));
	return got;
}

/* Waits up to ms for the fds; returns which were readable as bits (1 wake, 2 fan), 0 on timeout. */
static int wait_for(int wake, int fan, int ms)
{
	struct pollfd p[2] = {{wake, POLLIN, 0}, {fan, POLLIN, 0}}; /* fan < 0 is ignored */
	int r = poll(p, 2, ms);
	if (r < 0 && errno != EINTR) {
		log_error("flush: poll: %s", strerror(errno));
		usleep((useconds_t)ms * 1000);
	}
	return r <= 0 ? 0 : (p[0].revents ? 1 : 0) | (p[1].revents ? 2 : 0);
}

/* The flusher's loop (a child process: its logs reach the console only). A poke syncs at once;
 * a metadata event or dirty pages sync at most once per FLUSH_PERIOD_MS, so a busy workload
 * costs at most two syncs a second. */
static void __attribute__((noreturn))
flusher(int upper, int refresh, int meminfo, int wake, int fan, int notify)
{
	static const char b = 1;
	long long last = 0;
	for (;;) {
		int ready = wait_for(wake, fan, FLUSH_PERIOD_MS);
		int poked = (ready & 1) && drain(wake, "the poke pipe");
		int changed = (ready & 2) && drain(fan, "fanotify events");
		long long early = last + FLUSH_PERIOD_MS - clock_ms();
		if (changed && !poked) {
			/* Let the rest of the operation (a create is mostly followed by writes) and
			 * a burst of changes gather; a poke still ends the wait. */
			int ms = early > FLUSH_SETTLE_MS ? (int)early : FLUSH_SETTLE_MS;
			poked = (wait_for(wake, -1, ms) & 1) && drain(wake, "the poke pipe");
			drain(fan, "fanotify events");
		}
		if (!poked && !changed && dirty_now(refresh, meminfo) <= 0)
			continue;
		if (syncfs(upper) != 0)
			log_error("flush: syncfs of the writable drive: %s", strerror(errno));
		last = clock_ms();
		/* A full pipe already holds a pending cue; EPIPE: the live write-back has ended. */
		if (notify >= 0 && write(notify, &b, 1) != 1 && errno != EAGAIN && errno != EPIPE)
			log_error("flush: cue the live write-back: %s", strerror(errno));
	}
}

/* Metadata events of the whole writable drive, or -1 (logged: such changes then wait for ext4's
 * own journal commit, up to 2 s with commit=1). */
static int watch_metadata(int upper_fd)
{
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK | FAN_CLOEXEC,
				O_RDONLY);
	if (fan < 0) {
		log_error("flush: fanotify_init: %s (renames and deletions may take up to 2 s to "
			  "reach the drive)",
			  strerror(errno));
		return -1;
	}
	if (fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, METADATA_EVENTS, upper_fd,
			  NULL) != 0) {
		log_error("flush: fanotify_mark on the writable drive: %s (renames and deletions "
			  "may take up to 2 s to reach the drive)",
			  strerror(errno));
		close(fan);
		return -1;
	}
	return fan;
}

int flush_start(struct imgroot *ir, int upper_fd, int notify_fd)
{
	/* A bounded backlog makes the time a flush takes bounded too; start writing early. */
	int rc = write_sysctl("/proc/sys/vm/dirty_background_bytes", FLUSH_DIRTY_BACKGROUND_BYTES);
	rc |= write_sysctl("/proc/sys/vm/dirty_bytes", FLUSH_DIRTY_BYTES);
	int meminfo = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	int refresh = open("/proc/sys/vm/stat_refresh", O_RDONLY | O_CLOEXEC);
	int fan = watch_metadata(upper_fd);
	int p[2] = {-1, -1};
	pid_t pid = -1;
	if (meminfo < 0 || refresh < 0)
		log_error("flush: open %s: %s",
			  meminfo < 0 ? "/proc/meminfo" : "/proc/sys/vm/stat_refresh",
			  strerror(errno));
	else if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		log_error("flush: pipe: %s", strerror(errno));
	else if ((pid = fork()) < 0)
		log_error("flush: fork the flusher: %s", strerror(errno));
	if (pid == 0) {
		log_port_enable(0);
		close(p[1]);
		flusher(upper_fd, refresh, meminfo, p[0], fan, notify_fd);
	}
	if (p[0] >= 0)
		close(p[0]);
	if (meminfo >= 0)
		close(meminfo);
	if (refresh >= 0)
		close(refresh);
	if (fan >= 0)
		close(fan);
	if (pid < 0) {
		if (p[1] >= 0)
			close(p[1]);
		return -1;
	}
	ir->flusher_pid = pid;
	/* Non-blocking: a full pipe is a pending poke. */
	ir->poke_fd = p[1];
	log_debug("flush: flusher pid %d, period %d ms, dirty_bytes %u", pid, FLUSH_PERIOD_MS,
		  FLUSH_DIRTY_BYTES);
	return rc == 0 ? 0 : -1;
}

void flush_now(const struct imgroot *ir)
{
	if (ir->poke_fd < 0)
		return;
	static const char b = 1;
	if (write(ir->poke_fd, &b, 1) != 1 && errno != EAGAIN)
		log_error("flush: poke the flusher: %s", strerror(errno));
}

int flush_reaped(struct imgroot *ir, pid_t pid, int status)
{
	if (ir->flusher_pid < 0 || pid != ir->flusher_pid)
		return 0;
	log_error("flush: the flusher (pid %d) ended (status 0x%x): writes now reach the writable "
		  "drive only at the kernel's pace",
		  pid, status);
	ir->flusher_pid = -1;
	if (ir->poke_fd >= 0 && close(ir->poke_fd) != 0)
		log_debug("flush: close the poke pipe: %s", strerror(errno));
	ir->poke_fd = -1;
	return 1;
}
