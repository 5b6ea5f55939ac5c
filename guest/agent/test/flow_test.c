/* Protocol 2 handshake: the agent refuses a host of another protocol version, clearly. */
#include <errno.h>
#include <string.h>

#include "../proto.h"
#include "check.h"

static uint32_t hello(uint8_t *b, uint32_t version, const char *software)
{
	put_u32(b, version);
	memcpy(b + 4, software, strlen(software));
	return 4 + (uint32_t)strlen(software);
}

void flow_tests(void)
{
	uint8_t b[128];
	struct agent_err err = {0};
	CHECK(proto_check_host_hello(b, hello(b, PROTO_VERSION, "runcvm-launcher"), &err) == 0);
	CHECK(proto_check_host_hello(b, hello(b, 2, "old-launcher"), &err) != 0);
	CHECK(strstr(err.msg, "speaks agent protocol 2, this agent speaks 3") != NULL &&
	      strstr(err.msg, "old-launcher") != NULL && err.errnum == EPROTO);
	CHECK(proto_check_host_hello(b, 3, &err) != 0 && strstr(err.msg, "reinstall") != NULL &&
	      err.errnum == EPROTO);
	/* A long host string is cut to 64 bytes; the advice after it stays. */
	memset(b + 4, 'x', 100);
	CHECK(proto_check_host_hello(b, 104, &err) != 0 &&
	      strstr(err.msg, "("
			      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			      ")") != NULL &&
	      strstr(err.msg, "reinstall runcvm") != NULL);
}
