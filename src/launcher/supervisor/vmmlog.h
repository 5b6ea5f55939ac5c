/*
 * QEMU's and virtiofsd's stderr after the handover (docs/architecture.md): the supervisor keeps
 * reading the pipes the launcher read until then, turns what arrives into host log records (one
 * per line, as the launcher's HostLog.output) and keeps the last bytes for error messages (the
 * launcher's "qemu/virtiofsd stderr" block). A guest can drive what QEMU prints, so everything
 * is bounded: a line is held at most HOSTLOG_LINE_MAX bytes, the tail is VMMLOG_TAIL_MAX bytes,
 * and the host log's own token bucket drops (and counts) what comes too fast. The pipes are
 * always drained: a VMM blocked on a full stderr pipe would stall its guest.
 */
#ifndef RUNCVM_SUPERVISOR_VMMLOG_H
#define RUNCVM_SUPERVISOR_VMMLOG_H

#include <stddef.h>

#include "hostlog.h"

/* As the launcher's Tail (src/common/tail.ts). */
#define VMMLOG_TAIL_MAX 8192

/* One line of output, not NUL-terminated, without its newline. */
typedef void (*vmmlog_line_fn)(void *ctx, const char *source, const char *text, size_t len);

struct vmmlog_src {
	const char *source; /* the host log's source name: "qemu", "virtiofsd" */
	int fd;		    /* -1: closed */
	char part[HOSTLOG_LINE_MAX];
	size_t plen;
};

struct vmmlog_tail {
	char buf[VMMLOG_TAIL_MAX];
	size_t start, len; /* a ring */
};

/* A chunk read from s: complete lines to fn, the rest held (a line longer than the hold is
 * passed on at HOSTLOG_LINE_MAX bytes, as the launcher's writer does). */
void vmmlog_feed(struct vmmlog_src *s, const char *d, size_t n, vmmlog_line_fn fn, void *ctx);
/* What is held of an unfinished line, at the end. */
void vmmlog_flush(struct vmmlog_src *s, vmmlog_line_fn fn, void *ctx);
void vmmlog_tail_push(struct vmmlog_tail *t, const char *d, size_t n);
/* The tail as text into out (NUL-terminated, leading and trailing white space trimmed). */
size_t vmmlog_tail_text(const struct vmmlog_tail *t, char *out, size_t cap);

#endif
