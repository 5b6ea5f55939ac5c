/* A growable byte buffer with a ceiling: what runcvm-exec-prep builds from hostile input
 * (the START payload, the rewritten process JSON) can never grow past the bound it was given. */
#ifndef EXEC_PREP_BUF_H
#define EXEC_PREP_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;
};

/* Appends n bytes; -1 (buffer unchanged) when that would pass b->max or memory runs out. */
int buf_add(struct buf *b, const void *data, size_t n);
int buf_str(struct buf *b, const char *s);
void buf_free(struct buf *b);

#endif
