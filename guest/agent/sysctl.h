/* Kernel parameters the guest sets: the OCI spec's linux.sysctl (the workload runs in the agent's
 * network, IPC and UTS namespaces, so the agent's writes are the workload's settings), and the
 * VM-wide writeback timing that bounds how long a shared mapping's writes stay in the guest
 * (docs/storage.md, "Shared mappings"). */
#ifndef RUNCVM_SYSCTL_H
#define RUNCVM_SYSCTL_H

#include <stddef.h>
#include <stdint.h>

#include "agenterr.h"

/* A dirty page is written back once it is this old (vm.dirty_expire_centisecs; kernel default
 * 3000)... */
#define SYSCTL_DIRTY_EXPIRE_CS 50
/* ...by the writeback worker, which looks this often while anything is dirty
 * (vm.dirty_writeback_centisecs; default 500). Together: on the host within ~0.75 s. */
#define SYSCTL_DIRTY_WRITEBACK_CS 25

/* One SYSCTL record of CONFIG: a file under /proc/sys and the text written to it. */
struct sysctl_req {
	char *path;
	char *value;
};

/* Parses "path\0value" and appends it; -1 on a malformed record or a path sysctl_path_ok refuses.
 */
int sysctl_add(struct sysctl_req **arr, size_t *n, const uint8_t *v, uint32_t len);
void sysctl_free(struct sysctl_req *arr, size_t n);
/* True for a relative path of plain names: no empty, "." or ".." component (it stays in /proc/sys).
 * Pure. */
int sysctl_path_ok(const char *path);
/* Writes each sysctl under /proc/sys in order. The first failure stops: 0, or -1 with e naming
 * the key, the file and the reason (runc fails the container's start the same way). */
int sysctl_apply(const struct sysctl_req *s, size_t n, struct agent_err *e);
/* Sets the writeback timing above; 0, or -1 after logging what failed (the kernel's 30 s then
 * apply). */
int sysctl_writeback_timing(void);

#endif
