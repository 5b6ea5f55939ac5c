/* The host side of Firecracker's vsock: a Unix socket on which Firecracker answers
 * `CONNECT <port>\n` with `OK <host port>\n` once the guest listens on that port, then relays the
 * stream (docs/firecracker.md, The agent channel). Right after boot the guest agent does not
 * listen yet and Firecracker closes the connection, or answers nothing yet: the caller retries
 * until its deadline. Everything is bounded: the answer line, each attempt, the whole wait. */
#ifndef RUNCVM_SUPERVISOR_FCVSOCK_H
#define RUNCVM_SUPERVISOR_FCVSOCK_H

#include <stddef.h>
#include <stdint.h>

/* "OK 4294967295\n" is 14 bytes: a longer line is not Firecracker's answer. */
#define FCVSOCK_LINE_MAX 32

enum fcvsock_result {
	FCV_CONNECTED = 0,
	/* Not yet: no socket, refused, closed before OK or no answer in time. */
	FCV_RETRY = 1,
	/* Will not get better: an answer that is not OK, a line too long, an unexpected error. */
	FCV_FATAL = -1,
};

/* One attempt: connects to path, writes `CONNECT port`, reads the answer one byte at a time (so
 * nothing after the OK line is taken from the guest's stream) for at most answer_ms. On
 * FCV_CONNECTED *fd is the connected socket (close-on-exec, non-blocking); otherwise no descriptor
 * is left open and err says why. */
enum fcvsock_result fcvsock_connect_once(const char *path, uint32_t port, int answer_ms, int *fd,
					 char *err, size_t errlen);

/* Attempts every retry_ms until timeout_ms has passed since the call, answer_ms each. gone(ctx),
 * called between attempts, ends the wait when the VMM is gone (returns nonzero). FCV_CONNECTED with
 * *fd, or FCV_RETRY (deadline or gone) / FCV_FATAL with err naming the last reason. */
enum fcvsock_result fcvsock_connect(const char *path, uint32_t port, int timeout_ms, int answer_ms,
				    int retry_ms, int (*gone)(void *), void *ctx, int *fd,
				    char *err, size_t errlen);

/* Whether line (without its newline) is `OK <1 to 10 digits>`. */
int fcvsock_ok_line(const char *line, size_t len);

#endif
