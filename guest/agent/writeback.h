/* Write-back: the guest's changes to an image root reach the container's layer on the host. */
#ifndef RUNCVM_WRITEBACK_H
#define RUNCVM_WRITEBACK_H

#include "config.h"

/* Remembers the overlay upper dir, the host share of the container's root and the paths that are
 * mount points (never written back). Owns upper_fd; host_fd (-1: none) is borrowed. */
int writeback_prepare(int upper_fd, int host_fd, const struct vm_config *c);
/* Applies every change in the upper dir to the host share (whiteouts become deletions), then
 * empties the upper dir so the next start begins from the host's layer. A no-op when nothing
 * was prepared. Returns 0, or -1 after logging what failed (the upper dir is then kept). */
int writeback_run(void);

#endif
