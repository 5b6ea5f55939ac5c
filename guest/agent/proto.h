/* Frames and TLV records of the agent protocol (docs/agent-protocol.md). */
#ifndef RUNCVM_PROTO_H
#define RUNCVM_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agenterr.h"

/* Framing, message types and TLV tags: shared with the host (one source of truth). */
#include "../../src/agent-protocol/wire.h"

struct frame {
	uint8_t type;
	uint32_t id;
	const uint8_t *payload;
	uint32_t len;
};

uint32_t get_u32(const uint8_t *p);
uint16_t get_u16(const uint8_t *p);
void put_u32(uint8_t *p, uint32_t v);

/* The agent channel to the host: its fd and the bytes read from it not yet taken as frames. One
 * per agent, in struct agent (agent.h); the process table, the DNS relay and the log borrow it. */
struct chan {
	int fd;
	int host_gone; /* a write found the host end closed */
	uint8_t *rbuf; /* FRAME_HDR + FRAME_MAX bytes, allocated at the first read */
	size_t rhave;  /* bytes in rbuf */
	size_t rstart; /* start of the unconsumed bytes */
};

/* A channel over fd (-1: none yet), nothing read. */
void proto_init(struct chan *ch, int fd);
int proto_port(const struct chan *ch);
/* After HELLO: writes must never block on a host that went away. */
int proto_set_nonblocking(struct chan *ch);
/* True once a write found the host end of the port closed. */
int proto_host_gone(const struct chan *ch);
/* Writes one frame whose payload is a followed by b (either may be empty). */
int proto_send(struct chan *ch, uint8_t type, uint32_t id, const void *a, size_t alen,
	       const void *b, size_t blen);
int proto_send_error(struct chan *ch, uint32_t id, int err, const char *msg);
/* The one report of an error for the host: an ERROR frame with e's errno and message. */
int proto_send_agent_err(struct chan *ch, uint32_t id, const struct agent_err *e);
/* The host's HELLO: 0 when it speaks PROTO_VERSION, else -1 with e filled (EPROTO). */
int proto_check_host_hello(const uint8_t *payload, uint32_t len, struct agent_err *e);

/* Reads what the port has; returns bytes read, 0 on EOF, -1 on error. */
ssize_t proto_fill(struct chan *ch);
/* Next complete frame from the buffer: 1 found, 0 need more, -1 protocol error. */
int proto_next(struct chan *ch, struct frame *f);

struct tlv_iter {
	const uint8_t *p;
	size_t left;
};
/* 1 = a record, 0 = end, -1 = truncated record. */
int tlv_next(struct tlv_iter *it, uint16_t *tag, const uint8_t **val, uint32_t *len);

#endif
