#include "create.h"

#include <string.h>

#include "pb.h"

/* Copies every field of message (p, n) but number skip into o, as they were encoded. -1 when
 * malformed. */
static int copy_but(struct pb_out *o, const uint8_t *p, size_t n, uint32_t skip)
{
	struct pb_in in = {.p = p, .len = n};
	struct pb_field f;
	size_t start = 0;
	int got;
	while ((got = pb_next(&in, &f)) == 1) {
		if (f.num != skip) {
			if (o->err || in.off - start > o->cap - o->len) {
				o->err = 1;
				return 0;
			}
			memcpy(o->p + o->len, p + start, in.off - start);
			o->len += in.off - start;
		}
		start = in.off;
	}
	return got == 0 ? 0 : -1;
}

size_t create_with_runc_binary(const uint8_t *p, size_t n, const char *binary, int systemd_cgroup,
			       uint8_t *out, size_t cap)
{
	struct pb_in in = {.p = p, .len = n};
	struct pb_field f;
	int got;
	while ((got = pb_next(&in, &f)) == 1) {
		if (f.num != 10)
			continue;
		if (f.type != PB_LEN)
			return 0;
		struct pb_in any = {.p = f.b, .len = f.n};
		struct pb_field a;
		int g;
		while ((g = pb_next(&any, &a)) == 1)
			if (a.num == 1 && a.type == PB_LEN && a.n == strlen(RUNC_OPTIONS_URL) &&
			    memcmp(a.b, RUNC_OPTIONS_URL, a.n) == 0) {
				/* Already the runc shim's own options: as they are. */
				if (n > cap)
					return 0;
				memcpy(out, p, n);
				return n;
			}
		if (g != 0)
			return 0;
	}
	if (got != 0)
		return 0;
	uint8_t opts[1100];
	struct pb_out o = {.p = opts, .cap = sizeof opts};
	pb_str(&o, 6, binary);
	if (systemd_cgroup)
		pb_u64(&o, 9, 1); /* systemd_cgroup */
	uint8_t any[1200];
	struct pb_out a = {.p = any, .cap = sizeof any};
	pb_str(&a, 1, RUNC_OPTIONS_URL);
	pb_bytes(&a, 2, opts, o.len);
	struct pb_out r = {.p = out, .cap = cap};
	if (o.err || a.err || copy_but(&r, p, n, 10) != 0)
		return 0;
	pb_bytes(&r, 10, any, a.len);
	return r.err ? 0 : r.len;
}

size_t request_with_payload(const uint8_t *p, size_t n, const uint8_t *payload, size_t len,
			    uint8_t *out, size_t cap)
{
	struct pb_out r = {.p = out, .cap = cap};
	if (copy_but(&r, p, n, 3) != 0)
		return 0;
	pb_bytes(&r, 3, payload, len);
	return r.err ? 0 : r.len;
}
