/* Protocol 2 handshake: the agent refuses a host of another protocol version, clearly. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../proto.h"
#include "check.h"

static uint32_t hello(uint8_t *b, uint32_t version, const char *software)
{
	put_u32(b, version);
	memcpy(b + 4, software, strlen(software));
	return 4 + (uint32_t)strlen(software);
}

static size_t frame(uint8_t *b, uint8_t type, uint32_t id, const char *payload, uint32_t len)
{
	memset(b, 0, FRAME_HDR);
	put_u32(b, len);
	b[4] = type;
	put_u32(b + 8, id);
	memcpy(b + FRAME_HDR, payload, len);
	return FRAME_HDR + len;
}

/* The channel's framing: frames split across reads come out whole and in order, a frame over
 * FRAME_MAX is a protocol error, and writes go out as one frame each. */
static void test_channel_frames(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct chan ch;
	proto_init(&ch, sv[0]);
	CHECK(proto_set_nonblocking(&ch) == 0);
	uint8_t b[256];
	size_t n = frame(b, MSG_STDIN, 7, "hello", 5);
	n += frame(b + n, MSG_SIGNAL, 7, "\x0f\0\0\0", 4);
	/* The second frame's last byte arrives in a later read. */
	CHECK(write(sv[1], b, n - 1) == (ssize_t)(n - 1));
	struct frame f;
	CHECK(proto_fill(&ch) == (ssize_t)(n - 1));
	CHECK(proto_next(&ch, &f) == 1 && f.type == MSG_STDIN && f.id == 7 && f.len == 5 &&
	      memcmp(f.payload, "hello", 5) == 0);
	CHECK(proto_next(&ch, &f) == 0);
	CHECK(write(sv[1], b + n - 1, 1) == 1);
	CHECK(proto_fill(&ch) == 1);
	CHECK(proto_next(&ch, &f) == 1 && f.type == MSG_SIGNAL && f.len == 4 &&
	      get_u32(f.payload) == 15);
	CHECK(proto_next(&ch, &f) == 0);
	/* Nothing to read is not EOF. */
	CHECK(proto_fill(&ch) == 1 && proto_next(&ch, &f) == 0);
	/* A header announcing more than FRAME_MAX. */
	memset(b, 0, FRAME_HDR);
	put_u32(b, FRAME_MAX + 1);
	CHECK(write(sv[1], b, FRAME_HDR) == FRAME_HDR);
	CHECK(proto_fill(&ch) == FRAME_HDR && proto_next(&ch, &f) == -1);
	/* A sent frame: header then payload a and b. */
	CHECK(proto_send(&ch, MSG_STDOUT, 9, "ab", 2, "c", 1) == 0);
	uint8_t got[64];
	CHECK(read(sv[1], got, sizeof got) == FRAME_HDR + 3);
	CHECK(get_u32(got) == 3 && got[4] == MSG_STDOUT && get_u32(got + 8) == 9 &&
	      memcmp(got + FRAME_HDR, "abc", 3) == 0);
	/* The host end closed: EOF, and a write fails without blocking (PID 1 ignores SIGPIPE, as
	 * here). */
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	CHECK(proto_fill(&ch) == 0);
	CHECK(proto_send(&ch, MSG_STDOUT, 9, "x", 1, NULL, 0) != 0);
	close(sv[0]);
	free(ch.rbuf);
}

void flow_tests(void)
{
	test_channel_frames();
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
