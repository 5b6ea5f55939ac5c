/*
 * The few protocol-buffers primitives the shim needs (varints and length-delimited fields),
 * to read ttrpc requests from containerd and to write the answers it decodes. Reading is
 * bounded by the input's length; writing never goes past the caller's buffer (err is set).
 */
#ifndef RUNCVM_SHIM_PB_H
#define RUNCVM_SHIM_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

struct pb_out {
	uint8_t *p;
	size_t len, cap;
	/* Set once a write did not fit: the buffer's content is then unusable. */
	int err;
};

void pb_u64(struct pb_out *o, uint32_t field, uint64_t v);
void pb_bytes(struct pb_out *o, uint32_t field, const void *b, size_t n);
void pb_str(struct pb_out *o, uint32_t field, const char *s);

/* One field of a message: its number and wire type; v for VARINT (and I64/I32), b and n for
 * LEN. */
struct pb_field {
	uint32_t num;
	int type;
	uint64_t v;
	const uint8_t *b;
	size_t n;
};

struct pb_in {
	const uint8_t *p;
	size_t len, off;
};

/* The next field of in: 1, 0 at the end, -1 when malformed (truncated, a bad varint, a
 * group or an unknown wire type, field 0). */
int pb_next(struct pb_in *in, struct pb_field *f);

#endif
