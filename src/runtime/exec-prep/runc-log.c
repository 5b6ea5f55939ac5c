/* See runc-log.h. */
#define _GNU_SOURCE
#include "runc-log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

/* msg as a JSON string body, or (text format) with its double quotes escaped. */
static int quoted(struct buf *b, const char *msg, int json)
{
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		char esc[8];
		if (*p == '"' || (json && *p == '\\'))
			snprintf(esc, sizeof esc, "\\%c", *p);
		else if (json && *p < 0x20)
			snprintf(esc, sizeof esc, "\\u%04x", *p);
		else
			snprintf(esc, sizeof esc, "%c", *p);
		if (buf_str(b, esc))
			return -1;
	}
	return 0;
}

void runc_log_error(const char *path, const char *format, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[40] = "1970-01-01T00:00:00.000Z";
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && gmtime_r(&ts.tv_sec, &tm))
		snprintf(when + strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm),
			 sizeof when - 19, ".%03ldZ", ts.tv_nsec / 1000000);
	int json = format && strcmp(format, "json") == 0;
	struct buf b = {.max = 64 * 1024};
	int bad = json ? buf_str(&b, "{\"level\":\"error\",\"msg\":\"") || quoted(&b, msg, 1) ||
				  buf_str(&b, "\",\"time\":\"") || buf_str(&b, when) ||
				  buf_str(&b, "\"}\n")
		       : buf_str(&b, "time=\"") || buf_str(&b, when) ||
				  buf_str(&b, "\" level=error msg=\"") || quoted(&b, msg, 0) ||
				  buf_str(&b, "\"\n");
	if (bad) {
		fprintf(stderr, "runcvm: %s\n", msg);
		buf_free(&b);
		return;
	}
	int fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	/* Falls back to stderr, which the shim also captures. */
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len)
		fprintf(stderr, "%.*s", (int)b.len, (const char *)b.p);
	if (fd >= 0)
		close(fd);
	buf_free(&b);
}
