/*
 * The agent's one error type. A function that can fail returns -1 (or NULL) and fills the
 * caller's struct agent_err once, at the failure, with the errno value and a message that names
 * the step and the file or device; callers pass it up unchanged and the top (main.c's dispatch,
 * the process table) reports it exactly once: an ERROR frame for the host, or a log line on the
 * console and as a LOG frame (docs/architecture.md, "C: the guest agent's error model and state").
 */
#ifndef RUNCVM_AGENTERR_H
#define RUNCVM_AGENTERR_H

#include <stdint.h>

/* 1024 bytes in all: a START child writes one to its report pipe in a single write below
 * PIPE_BUF, so the parent reads it whole (exec.c, process.c). */
struct agent_err {
	int32_t errnum; /* an errno value; the host maps some to exit codes */
	char msg[1020]; /* "step path: reason", NUL-terminated, cut to fit */
};

/* Sets errnum and the message fmt (no reason appended: the message says it). Returns -1, for
 * `return agent_err_set(…)`. */
int agent_err_set(struct agent_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A failed call: sets errnum and "fmt: strerror(errnum)". Returns -1. */
int agent_err_sys(struct agent_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Reports e once as an error: console and, once the channel is up, a LOG frame. */
void agent_err_log(const struct agent_err *e);

#endif
