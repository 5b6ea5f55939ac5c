/* The tests' TLV builder (check.h), shared by the agent's and the supervisor's host tests: it
 * encodes as the host does (u16 tag, u32 length, little-endian; docs/agent-protocol.md) without
 * the code under test, so a shared encoding mistake cannot hide. */
#include <string.h>

#include "check.h"

void tlv_add(struct tlv_buf *b, uint16_t tag, const void *value, uint32_t n)
{
	if (b->len + 6 + n > sizeof b->data) {
		fprintf(stderr, "tlv_add: test buffer too small\n");
		failures++;
		return;
	}
	uint8_t *p = b->data + b->len;
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	for (int i = 0; i < 4; i++)
		p[2 + i] = (uint8_t)(n >> (8 * i));
	memcpy(p + 6, value, n);
	b->len += 6 + n;
}

void tlv_add_str(struct tlv_buf *b, uint16_t tag, const char *s)
{
	tlv_add(b, tag, s, (uint32_t)strlen(s));
}
