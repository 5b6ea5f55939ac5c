/* A byte queue of chunks towards one descriptor (Docker's pipe, an exec client, the agent
 * channel). Its bound is kept by the callers: guest output by the flow-control window, host
 * frames by pausing their sources above a soft limit. A chunk may carry credit: when its last
 * byte is written, `done` reports it so the guest gets that much more window. */
#ifndef RUNCVM_SUPERVISOR_QUEUE_H
#define RUNCVM_SUPERVISOR_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chunk {
	struct chunk *next;
	size_t len, off;
	int stream; /* 0 stdout, 1 stderr, -1 no credit */
	uint32_t credit;
	uint8_t data[];
};

struct queue {
	struct chunk *head, *tail;
	size_t bytes;
};

typedef void (*credit_fn)(void *ctx, int stream, uint32_t credit);

/* Appends a followed by b as one chunk; -1 (ENOMEM) leaves the queue unchanged. */
int q_push(struct queue *q, const void *a, size_t alen, const void *b, size_t blen, int stream,
	   uint32_t credit);
/* Appends one agent-protocol frame. */
int q_push_frame(struct queue *q, uint8_t type, uint32_t id, const void *p, size_t len, int stream,
		 uint32_t credit);
/* Writes what fd takes without blocking; 0 (also when it would block), -1 with errno. */
int q_write(struct queue *q, int fd, credit_fn done, void *ctx);
/* Drops everything, reporting each chunk's credit as consumed (the reader is gone). */
void q_clear(struct queue *q, credit_fn done, void *ctx);

#endif
