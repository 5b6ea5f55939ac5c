#include "ttrpc.h"

#include <string.h>

#include "pb.h"

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

void ttrpc_hdr_read(const uint8_t *b, struct ttrpc_hdr *h)
{
	h->len = be32(b);
	h->stream = be32(b + 4);
	h->type = b[8];
	h->flags = b[9];
}

void ttrpc_hdr_write(uint8_t *b, const struct ttrpc_hdr *h)
{
	put_be32(b, h->len);
	put_be32(b + 4, h->stream);
	b[8] = h->type;
	b[9] = h->flags;
}

int ttrpc_req_read(const uint8_t *p, size_t n, struct ttrpc_req *r)
{
	memset(r, 0, sizeof *r);
	struct pb_in in = {.p = p, .len = n};
	struct pb_field f;
	int got;
	while ((got = pb_next(&in, &f)) == 1) {
		if (f.num >= 1 && f.num <= 3 && f.type != PB_LEN)
			return -1;
		if (f.num == 1)
			r->service = f.b, r->service_len = f.n;
		else if (f.num == 2)
			r->method = f.b, r->method_len = f.n;
		else if (f.num == 3)
			r->payload = f.b, r->payload_len = f.n;
	}
	return got == 0 ? 0 : -1;
}

int ttrpc_req_is(const struct ttrpc_req *r, const char *service, const char *method)
{
	return r->service && r->method && r->service_len == strlen(service) &&
	       memcmp(r->service, service, r->service_len) == 0 &&
	       r->method_len == strlen(method) && memcmp(r->method, method, r->method_len) == 0;
}

static size_t frame(uint8_t *out, size_t cap, uint32_t stream, struct pb_out *body)
{
	if (body->err)
		return 0;
	ttrpc_hdr_write(out, &(struct ttrpc_hdr){.len = (uint32_t)body->len,
						 .stream = stream,
						 .type = TTRPC_RESPONSE});
	(void)cap;
	return TTRPC_HDR + body->len;
}

size_t ttrpc_response(uint8_t *out, size_t cap, uint32_t stream, const uint8_t *payload, size_t n)
{
	if (cap < TTRPC_HDR)
		return 0;
	struct pb_out body = {.p = out + TTRPC_HDR, .cap = cap - TTRPC_HDR};
	pb_bytes(&body, 2, payload, n);
	return frame(out, cap, stream, &body);
}

size_t ttrpc_error(uint8_t *out, size_t cap, uint32_t stream, int code, const char *msg)
{
	if (cap < TTRPC_HDR)
		return 0;
	uint8_t status[1024];
	struct pb_out st = {.p = status, .cap = sizeof status};
	pb_u64(&st, 1, (uint64_t)code);
	/* A message longer than the status buffer is cut, never the frame refused. */
	size_t mlen = strlen(msg);
	pb_bytes(&st, 2, msg, mlen < 900 ? mlen : 900);
	struct pb_out body = {.p = out + TTRPC_HDR, .cap = cap - TTRPC_HDR};
	if (st.err)
		return 0;
	pb_bytes(&body, 1, status, st.len);
	return frame(out, cap, stream, &body);
}
