/* Filesystems: the initramfs basics, the workload's root and its submounts. */
#ifndef RUNCVM_MOUNTS_H
#define RUNCVM_MOUNTS_H

#include <stddef.h>
#include <sys/types.h>

#include "agenterr.h"
#include "config.h"

struct imgroot; /* writeback.h: the image root's write-back state, filled for an image root */

/* /sys and /dev of the initramfs (boot() mounts its /proc). Returns -1 (logged) on failure. */
int mounts_early(void);
/* Mounts the root share, switches into it and builds the container's mounts. */
int mounts_setup_root(struct imgroot *ir, const struct vm_config *c, struct agent_err *e);
/* Write-back only (no workload): the image root's drives and the host share, no switch of root. */
int mounts_setup_writeback(struct imgroot *ir, const struct vm_config *c, struct agent_err *e);
/* mkdir -p that creates only what is missing. 0, or -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* Best-effort lazy unmount of everything but / and the memory-only filesystems (proc, sysfs,
 * tmpfs...), deepest first. */
void mounts_unmount_all(void);

#endif
