#include "queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wireio.h"

int q_push(struct queue *q, const void *a, size_t alen, const void *b, size_t blen, int stream,
	   uint32_t credit)
{
	struct chunk *c = malloc(sizeof *c + alen + blen);
	if (!c) {
		errno = ENOMEM;
		return -1;
	}
	c->next = NULL;
	c->len = alen + blen;
	c->off = 0;
	c->stream = stream;
	c->credit = credit;
	if (alen)
		memcpy(c->data, a, alen);
	if (blen)
		memcpy(c->data + alen, b, blen);
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->bytes += c->len;
	return 0;
}

int q_push_frame(struct queue *q, uint8_t type, uint32_t id, const void *p, size_t len, int stream,
		 uint32_t credit)
{
	uint8_t h[FRAME_HDR];
	wr_header(h, type, id, (uint32_t)len);
	return q_push(q, h, sizeof h, p, len, stream, credit);
}

static void pop(struct queue *q, credit_fn done, void *ctx)
{
	struct chunk *c = q->head;
	q->head = c->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= c->len - c->off;
	if (c->credit && done)
		done(ctx, c->stream, c->credit);
	free(c);
}

int q_write(struct queue *q, int fd, credit_fn done, void *ctx)
{
	while (q->head) {
		struct chunk *c = q->head;
		if (c->off == c->len) {
			pop(q, done, ctx);
			continue;
		}
		ssize_t n = write(fd, c->data + c->off, c->len - c->off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->off += (size_t)n;
		q->bytes -= (size_t)n;
		if (c->off < c->len)
			return 0;
	}
	return 0;
}

void q_clear(struct queue *q, credit_fn done, void *ctx)
{
	while (q->head)
		pop(q, done, ctx);
}
