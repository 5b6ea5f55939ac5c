#include "hostlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_FILE "runcvm.log"

void hostlog_init(struct hostlog *h, const char *dir, long long now_ms)
{
	memset(h, 0, sizeof *h);
	h->dir = dir;
	h->fd = -1;
	h->tokens = HOSTLOG_BURST;
	h->last_ms = now_ms;
}

size_t hostlog_clean(char *out, const char *text, size_t len)
{
	int cut = len > HOSTLOG_LINE_MAX;
	size_t n = cut ? HOSTLOG_LINE_MAX : len;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		out[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (cut) {
		/* "…", as the launcher's writer marks a cut line. */
		memcpy(out + n, "\xe2\x80\xa6", 3);
		n += 3;
	}
	out[n] = 0;
	return n;
}

void hostlog_time(char *out, long long wall_ms)
{
	time_t s = (time_t)(wall_ms / 1000);
	struct tm tm;
	if (!gmtime_r(&s, &tm)) {
		strcpy(out, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t n = strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(wall_ms % 1000));
}

static int fail(struct hostlog *h, const char *what)
{
	if (!h->failed)
		snprintf(h->err, sizeof h->err, "host log %s/" LOG_FILE ": %s: %s", h->dir, what,
			 strerror(errno));
	h->failed = 1;
	if (h->fd >= 0 && close(h->fd) != 0 && !h->err[0])
		snprintf(h->err, sizeof h->err, "host log: close: %s", strerror(errno));
	h->fd = -1;
	return -1;
}

/* O_NOFOLLOW: the sandbox can write this directory, so a link there is hostile. */
static int open_log(struct hostlog *h)
{
	char path[256];
	snprintf(path, sizeof path, "%s/" LOG_FILE, h->dir);
	h->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (h->fd < 0)
		return fail(h, "open");
	struct stat st;
	if (fstat(h->fd, &st) != 0)
		return fail(h, "fstat");
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return fail(h, "not a regular file");
	}
	h->size = st.st_size;
	return 0;
}

/* runcvm.log -> .1 -> .2 (renames move links, never follow them); the oldest goes. */
static int rotate(struct hostlog *h)
{
	char from[256], to[256];
	if (close(h->fd) != 0) {
		h->fd = -1;
		return fail(h, "close");
	}
	h->fd = -1;
	snprintf(to, sizeof to, "%s/" LOG_FILE ".2", h->dir);
	if (unlink(to) != 0 && errno != ENOENT)
		return fail(h, "unlink the oldest");
	for (int i = 1; i >= 0; i--) {
		if (i)
			snprintf(from, sizeof from, "%s/" LOG_FILE ".%d", h->dir, i);
		else
			snprintf(from, sizeof from, "%s/" LOG_FILE, h->dir);
		snprintf(to, sizeof to, "%s/" LOG_FILE ".%d", h->dir, i + 1);
		if (rename(from, to) != 0 && errno != ENOENT)
			return fail(h, "rotate");
	}
	return open_log(h);
}

static void append(struct hostlog *h, const char *line, size_t n)
{
	if (h->failed)
		return;
	if (h->fd < 0 && open_log(h) != 0)
		return;
	if (h->size > 0 && h->size + (long long)n > HOSTLOG_MAX_BYTES && rotate(h) != 0)
		return;
	ssize_t w = write(h->fd, line, n);
	if (w < 0) {
		fail(h, "write");
		return;
	}
	h->size += w;
}

static int admit(struct hostlog *h, long long now_ms)
{
	double t = h->tokens + (double)(now_ms - h->last_ms) * HOSTLOG_RATE / 1000.0;
	h->tokens = t > HOSTLOG_BURST ? HOSTLOG_BURST : t;
	h->last_ms = now_ms;
	if (h->tokens < 1)
		return 0;
	h->tokens -= 1;
	return 1;
}

static void record(struct hostlog *h, long long wall_ms, const char *source, const char *text,
		   size_t len)
{
	char when[32], clean[HOSTLOG_LINE_MAX + 4], line[HOSTLOG_LINE_MAX + 64];
	hostlog_time(when, wall_ms);
	hostlog_clean(clean, text, len);
	int n = snprintf(line, sizeof line, "%s %s: %s\n", when, source, clean);
	if (n > 0)
		append(h, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void hostlog_write(struct hostlog *h, long long now_ms, long long wall_ms, const char *source,
		   const char *text, size_t len)
{
	if (h->failed)
		return;
	if (!admit(h, now_ms)) {
		h->dropped++;
		return;
	}
	if (h->dropped) {
		char msg[96];
		int n = snprintf(msg, sizeof msg, "%lu log line(s) dropped (more than %d/s)",
				 h->dropped, HOSTLOG_RATE);
		h->dropped = 0;
		record(h, wall_ms, "launcher", msg, (size_t)n);
	}
	record(h, wall_ms, source, text, len);
}

void hostlog_close(struct hostlog *h)
{
	if (h->fd >= 0 && close(h->fd) != 0 && !h->failed)
		fail(h, "close");
	h->fd = -1;
}
