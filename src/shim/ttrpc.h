/*
 * ttrpc, the RPC protocol between containerd and its shims: each message is a 10-byte header
 * (u32 payload length, u32 stream id, u8 type, u8 flags; big-endian) then a protobuf Request
 * (service, method, payload, ...) or Response (status, payload). The shim reads the requests
 * containerd sends to find Task.Stats, and writes whole responses of its own.
 */
#ifndef RUNCVM_SHIM_TTRPC_H
#define RUNCVM_SHIM_TTRPC_H

#include <stddef.h>
#include <stdint.h>

#define TTRPC_HDR 10
/* ttrpc's own limit (messageLengthMax): a longer message ends the connection, as in ttrpc. */
#define TTRPC_MAX      (4u << 20)
#define TTRPC_REQUEST  1
#define TTRPC_RESPONSE 2

/* gRPC status codes the shim answers with. */
#define CODE_NOT_FOUND	 5
#define CODE_UNAVAILABLE 14

struct ttrpc_hdr {
	uint32_t len, stream;
	uint8_t type, flags;
};

void ttrpc_hdr_read(const uint8_t *b, struct ttrpc_hdr *h);
void ttrpc_hdr_write(uint8_t *b, const struct ttrpc_hdr *h);

struct ttrpc_req {
	const uint8_t *service, *method, *payload;
	size_t service_len, method_len, payload_len;
};

/* A Request message (the frame's payload). 0, or -1 when malformed. */
int ttrpc_req_read(const uint8_t *p, size_t n, struct ttrpc_req *r);
/* 1 when r calls service/method. */
int ttrpc_req_is(const struct ttrpc_req *r, const char *service, const char *method);

/* A whole response frame for stream: the payload (a serialized message), or, with code not 0,
 * a status with code and message. Its length, or 0 when it does not fit in cap. */
size_t ttrpc_response(uint8_t *out, size_t cap, uint32_t stream, const uint8_t *payload, size_t n);
size_t ttrpc_error(uint8_t *out, size_t cap, uint32_t stream, int code, const char *msg);

#endif
