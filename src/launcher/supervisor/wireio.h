/* Little-endian fields and TLV records of the agent protocol (docs/agent-protocol.md). */
#ifndef RUNCVM_SUPERVISOR_WIREIO_H
#define RUNCVM_SUPERVISOR_WIREIO_H

#include <stddef.h>
#include <stdint.h>

#include "../../agent-protocol/wire.h"

static inline uint32_t rd_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint16_t rd_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline void wr_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Frame header: u32 length, u8 type, u8[3] 0, u32 id. */
static inline void wr_header(uint8_t *h, uint8_t type, uint32_t id, uint32_t len)
{
	wr_u32(h, len);
	h[4] = type;
	h[5] = h[6] = h[7] = 0;
	wr_u32(h + 8, id);
}

/* 1 = a record, 0 = end, -1 = truncated record. */
static inline int tlv_step(const uint8_t **p, size_t *left, uint16_t *tag, const uint8_t **val,
			   uint32_t *len)
{
	if (*left == 0)
		return 0;
	if (*left < 6)
		return -1;
	*tag = rd_u16(*p);
	*len = rd_u32(*p + 2);
	if (*len > *left - 6)
		return -1;
	*val = *p + 6;
	*p += 6 + *len;
	*left -= 6 + *len;
	return 1;
}

#endif
