/*
 * Looks the exec's command up in the container's image the way runc's exec does, so that a
 * missing or non-executable command fails before the exec client starts, with runc's text:
 * Docker turns that failure into exit status 126 and shows the text (the same check as
 * src/runtime/lookup-exec.ts does at create; the guest agent repeats it at exec time).
 * Paths are resolved inside the root by the kernel (openat2 RESOLVE_IN_ROOT): an image's
 * symlinks can point anywhere, and none is ever followed out of the root.
 */
#ifndef EXEC_PREP_LOOKUP_H
#define EXEC_PREP_LOOKUP_H

#include <stddef.h>

/* 0: the command can run, or cannot be judged from the image because it lies under one of the
 * container's mounts; 1: msg holds runc's error text; -1: msg says what failed on the host. */
int lookup_exec_error(int rootfd, const char *name, const char *path_env, const char *cwd,
		      char *const *mounts, size_t nmounts, char *msg, size_t msglen);

#endif
