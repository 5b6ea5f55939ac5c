#include "pb.h"

#include <string.h>

static void put(struct pb_out *o, const void *b, size_t n)
{
	if (o->err || n > o->cap - o->len) {
		o->err = 1;
		return;
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void varint(struct pb_out *o, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	put(o, b, n);
}

void pb_u64(struct pb_out *o, uint32_t field, uint64_t v)
{
	varint(o, (uint64_t)field << 3 | PB_VARINT);
	varint(o, v);
}

void pb_bytes(struct pb_out *o, uint32_t field, const void *b, size_t n)
{
	varint(o, (uint64_t)field << 3 | PB_LEN);
	varint(o, n);
	put(o, b, n);
}

void pb_str(struct pb_out *o, uint32_t field, const char *s)
{
	pb_bytes(o, field, s, strlen(s));
}

static int get_varint(struct pb_in *in, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (in->off >= in->len)
			return -1;
		uint8_t b = in->p[in->off++];
		/* The tenth byte may carry only the top bit. */
		if (shift == 63 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

int pb_next(struct pb_in *in, struct pb_field *f)
{
	if (in->off >= in->len)
		return 0;
	uint64_t key;
	if (get_varint(in, &key) != 0 || key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return -1;
	*f = (struct pb_field){.num = (uint32_t)(key >> 3), .type = (int)(key & 7)};
	switch (f->type) {
	case PB_VARINT: return get_varint(in, &f->v) == 0 ? 1 : -1;
	case PB_I64:
	case PB_I32: {
		size_t n = f->type == PB_I64 ? 8 : 4;
		if (in->len - in->off < n)
			return -1;
		f->v = 0;
		for (size_t i = n; i-- > 0;)
			f->v = f->v << 8 | in->p[in->off + i];
		in->off += n;
		return 1;
	}
	case PB_LEN: {
		uint64_t n;
		if (get_varint(in, &n) != 0 || n > in->len - in->off)
			return -1;
		f->b = in->p + in->off;
		f->n = (size_t)n;
		in->off += (size_t)n;
		return 1;
	}
	default: return -1;
	}
}
