/* A pod VM's log (docs/engines.md, "Pod VM logs"): containerd's CRI starts a pod sandbox with no
 * stdio, so what the supervisor says on stderr (why the VM stopped, guest errors) is copied into a
 * file of the pod's log directory too, capped so a chatty guest cannot fill the host's disk. The
 * cap is shared with the launcher, which wrote there before the handover (HO_POD_LOG_BUDGET). */
#ifndef RUNCVM_SUPERVISOR_PODLOG_H
#define RUNCVM_SUPERVISOR_PODLOG_H

#include <stddef.h>

/* As src/launcher/pod-log.ts: the launcher's and the supervisor's copies together. */
#define POD_LOG_MAX (1024u * 1024)

struct podlog {
	int fd; /* -1: no pod log, or given up after an error */
	size_t left;
};

/* Opens path for appending (no symlink followed) with budget bytes left. 0, or -1 with errno. */
int podlog_open(struct podlog *p, const char *path, size_t budget);

/* Copies what fits of buf. 0, or -1 with errno on a write error (the copy then stops: stderr
 * itself still gets the text). */
int podlog_copy(struct podlog *p, const void *buf, size_t len);

void podlog_close(struct podlog *p);

#endif
