/* Host side of the credit-based flow control of guest output (docs/agent-protocol.md, Flow
 * control): the guest may have at most STREAM_WINDOW bytes of a stream the host has not granted
 * back; the host grants bytes back, in batches, once its consumer has taken them. */
#ifndef RUNCVM_SUPERVISOR_FLOW_H
#define RUNCVM_SUPERVISOR_FLOW_H

#include <stdint.h>

struct window {
	uint32_t unconsumed; /* received, not yet taken by the consumer */
	uint32_t ungranted;  /* taken, not yet granted back */
};

/* Bytes that arrived; -1 when the guest sent more than its credit (a protocol error). */
int win_receive(struct window *w, uint32_t n);
/* Bytes the consumer took; returns the credit to grant now (0: wait for a fuller batch). */
uint32_t win_consume(struct window *w, uint32_t n);

#endif
