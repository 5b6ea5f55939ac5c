/* Bounds on guest LOG lines written to the container's stderr, as src/launcher/guest-log.ts:
 * a token bucket (LOG_BURST lines, LOG_RATE lines/s), lines cut to LOG_LINE_MAX bytes with
 * control characters replaced (one frame is one line: the guest cannot forge host lines). */
#ifndef RUNCVM_SUPERVISOR_LOGLIMIT_H
#define RUNCVM_SUPERVISOR_LOGLIMIT_H

#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX  1024
#define LOG_BURST     50
#define LOG_RATE      20
#define LOG_QUEUE_MAX (64 * 1024)

struct loglimit {
	double tokens;
	long long last_ms;
	unsigned long dropped;
};

void log_init(struct loglimit *l, long long now_ms);
/* 1 when a line may be written now (queued: bytes waiting in the stream), else counts a drop. */
int log_admit(struct loglimit *l, long long now_ms, size_t queued);
/* Writes "prefix: text\n" cut and cleaned into out (cap >= LOG_LINE_MAX + 64); returns its length.
 */
size_t log_format(char *out, size_t cap, const char *prefix, const uint8_t *text, size_t len);

#endif
