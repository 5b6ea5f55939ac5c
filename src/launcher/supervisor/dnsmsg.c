#include "dnsmsg.h"

#include <string.h>

#define DNS_HEADER 12

/* Offset just past the first question (labels, type, class), 0 if it is malformed. */
static size_t question_end(const uint8_t *q, size_t len)
{
	size_t off = DNS_HEADER;
	while (off < len) {
		uint8_t l = q[off];
		if (l == 0)
			return off + 1 + 4 <= len ? off + 1 + 4 : 0;
		if (l & 0xc0)
			return 0;
		off += 1 + (size_t)l;
	}
	return 0;
}

size_t dns_servfail(const uint8_t *q, size_t len, uint8_t *out, size_t cap)
{
	if (len < DNS_HEADER || cap < len)
		return 0;
	size_t end = (q[4] == 0 && q[5] == 1) ? question_end(q, len) : 0;
	size_t n = end ? end : DNS_HEADER;
	memcpy(out, q, n);
	out[2] = (uint8_t)((q[2] & 0x79) | 0x80);
	out[3] = 0x80 | 2;
	out[4] = 0;
	out[5] = end ? 1 : 0;
	memset(out + 6, 0, DNS_HEADER - 6);
	return n;
}
