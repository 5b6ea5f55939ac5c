/*
 * The container's host log after the handover (src/common/host-log.ts is the launcher's writer
 * and the reference): /run/runcvm-log/runcvm.log in the sandbox, one record per line,
 * `<ISO 8601 UTC time> <source>: <text>`, text cut at HOSTLOG_LINE_MAX bytes with control
 * characters replaced, a token bucket (HOSTLOG_BURST lines, HOSTLOG_RATE lines/s), rotation at
 * HOSTLOG_MAX_BYTES keeping two old files. Much of it comes from the guest: all of it is bounded.
 */
#ifndef RUNCVM_SUPERVISOR_HOSTLOG_H
#define RUNCVM_SUPERVISOR_HOSTLOG_H

#include <stddef.h>

#define HOSTLOG_DIR	  "/run/runcvm-log"
#define HOSTLOG_MAX_BYTES (1024 * 1024)
#define HOSTLOG_LINE_MAX  1024
#define HOSTLOG_BURST	  200
#define HOSTLOG_RATE	  50

struct hostlog {
	const char *dir;
	int fd;
	long long size;
	double tokens;
	long long last_ms; /* monotonic */
	unsigned long dropped;
	int failed;
	char err[160]; /* the first failure, for the caller to report once */
};

void hostlog_init(struct hostlog *h, const char *dir, long long now_ms);
/* One record (text need not be NUL-terminated); a failure sets h->failed and h->err. */
void hostlog_write(struct hostlog *h, long long now_ms, long long wall_ms, const char *source,
		   const char *text, size_t len);
/* text cut and cleaned into out (at least HOSTLOG_LINE_MAX + 4 bytes); returns its length. */
size_t hostlog_clean(char *out, const char *text, size_t len);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least 32 bytes). */
void hostlog_time(char *out, long long wall_ms);
void hostlog_close(struct hostlog *h);

#endif
