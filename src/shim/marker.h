/*
 * Which tasks are containers of a pod VM: runcvm's runtime writes
 * <bundle>/runcvm/pod-container.json at their create ({"name": guest name, "sock": the pod
 * socket's dir, ...}); a task without it (the sandbox, a runc container) is not intercepted.
 */
#ifndef RUNCVM_SHIM_MARKER_H
#define RUNCVM_SHIM_MARKER_H

#include <stddef.h>

struct pod_marker {
	char name[129];
	char sock[1024];
};

/* Reads the marker of task id, whose bundle is <nsdir>/<id> (nsdir: an open directory,
 * containerd's per-namespace task dir). 1 with m filled, 0 when the task has none, -1 when it
 * is unreadable or malformed (err filled). No symlink is followed. */
int marker_read(int nsdir, const char *id, struct pod_marker *m, char *err, size_t errlen);
/* The marker's JSON text (len bytes) into m. 0, or -1 (err filled). */
int marker_parse(const char *text, size_t len, struct pod_marker *m, char *err, size_t errlen);

#endif
