/* QEMU's and virtiofsd's stderr after the handover: lines and a tail (vmmlog.h). */
#include "vmmlog.h"

#include <string.h>

void vmmlog_feed(struct vmmlog_src *s, const char *d, size_t n, vmmlog_line_fn fn, void *ctx)
{
	while (n > 0) {
		const char *nl = memchr(d, '\n', n);
		size_t take = nl ? (size_t)(nl - d) : n;
		size_t room = sizeof s->part - s->plen;
		if (take > room) {
			/* Longer than a record can be: what fits goes out now, the rest follows. */
			memcpy(s->part + s->plen, d, room);
			fn(ctx, s->source, s->part, sizeof s->part);
			s->plen = 0;
			d += room;
			n -= room;
			continue;
		}
		memcpy(s->part + s->plen, d, take);
		s->plen += take;
		if (!nl)
			return;
		fn(ctx, s->source, s->part, s->plen);
		s->plen = 0;
		d += take + 1;
		n -= take + 1;
	}
}

void vmmlog_flush(struct vmmlog_src *s, vmmlog_line_fn fn, void *ctx)
{
	if (s->plen)
		fn(ctx, s->source, s->part, s->plen);
	s->plen = 0;
}

void vmmlog_tail_push(struct vmmlog_tail *t, const char *d, size_t n)
{
	if (n >= sizeof t->buf) {
		memcpy(t->buf, d + n - sizeof t->buf, sizeof t->buf);
		t->start = 0;
		t->len = sizeof t->buf;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		t->buf[(t->start + t->len) % sizeof t->buf] = d[i];
		if (t->len < sizeof t->buf)
			t->len++;
		else
			t->start = (t->start + 1) % sizeof t->buf;
	}
}

static int blank(char c)
{
	return c == ' ' || c == '\n' || c == '\t' || c == '\r';
}

size_t vmmlog_tail_text(const struct vmmlog_tail *t, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	size_t from = 0, to = t->len;
	while (from < to && blank(t->buf[(t->start + from) % sizeof t->buf]))
		from++;
	while (to > from && blank(t->buf[(t->start + to - 1) % sizeof t->buf]))
		to--;
	/* The newest bytes when out is smaller than the tail. */
	if (to - from > cap - 1)
		from = to - (cap - 1);
	size_t n = 0;
	for (size_t i = from; i < to; i++)
		out[n++] = t->buf[(t->start + i) % sizeof t->buf];
	out[n] = 0;
	return n;
}
