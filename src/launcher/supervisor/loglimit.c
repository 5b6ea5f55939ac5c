#include "loglimit.h"

#include <stdio.h>
#include <string.h>

void log_init(struct loglimit *l, long long now_ms)
{
	l->tokens = LOG_BURST;
	l->last_ms = now_ms;
	l->dropped = 0;
}

int log_admit(struct loglimit *l, long long now_ms, size_t queued)
{
	l->tokens += (double)(now_ms - l->last_ms) * LOG_RATE / 1000.0;
	if (l->tokens > LOG_BURST)
		l->tokens = LOG_BURST;
	l->last_ms = now_ms;
	if (l->tokens < 1 || queued > LOG_QUEUE_MAX) {
		l->dropped++;
		return 0;
	}
	l->tokens -= 1;
	return 1;
}

size_t log_format(char *out, size_t cap, const char *prefix, const uint8_t *text, size_t len)
{
	int n = snprintf(out, cap, "%s: ", prefix);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t o = (size_t)n;
	size_t cut = len > LOG_LINE_MAX ? LOG_LINE_MAX : len;
	for (size_t i = 0; i < cut && o + 5 < cap; i++)
		out[o++] = (text[i] < 0x20 || text[i] == 0x7f) ? ' ' : (char)text[i];
	if (cut < len && o + 5 < cap) {
		memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
		o += 3;
	}
	out[o++] = '\n';
	return o;
}
