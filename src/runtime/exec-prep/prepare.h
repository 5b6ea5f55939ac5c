/* The work of runcvm-exec-prep between finding the bundle and starting runc: check the command
 * in the image, then replace containerd's process.json with the exec client's. */
#ifndef EXEC_PREP_PREPARE_H
#define EXEC_PREP_PREPARE_H

#include <stddef.h>

/* Bounds on what is read: containerd's process.json and runcvm's own spec.json. */
#define PROCESS_JSON_MAX   (1024 * 1024)
#define PROCESS_TOKENS_MAX 65536
#define SPEC_JSON_MAX	   (8 * 1024 * 1024)
#define SPEC_TOKENS_MAX	   (1 << 20)

/* spec_fd: the container's runcvm/spec.json (read here, not closed); process_path: the file
 * `runc exec --process` names, rewritten in place by a rename. 0, or -1 with err set (the text
 * the user sees after "runcvm: container ID: "). */
int prepare_exec(int spec_fd, const char *spec_path, const char *process_path, char *err,
		 size_t errlen);
/* Reads at most max bytes of fd (a regular file when regular is set, else a pipe) into a new
 * NUL-terminated buffer (*out, free it). 0 or -1 with err set; more is refused, not truncated. */
int read_bounded(int fd, int regular, const char *what, size_t max, char **out, size_t *len,
		 char *err, size_t errlen);

#endif
