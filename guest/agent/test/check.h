/* The agent tests' one assertion: counts a failure and says where, so every check runs. */
#ifndef RUNCVM_AGENT_TEST_CHECK_H
#define RUNCVM_AGENT_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>

extern int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* A TLV payload under construction, as the host encodes it (docs/agent-protocol.md). */
struct tlv_buf {
	uint8_t data[4096];
	size_t len;
};

void tlv_add(struct tlv_buf *b, uint16_t tag, const void *value, uint32_t n);
void tlv_add_str(struct tlv_buf *b, uint16_t tag, const char *s);

void parse_tests(void);
void flow_tests(void);

#endif
