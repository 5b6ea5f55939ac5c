/* Image rootfs mode: the root is an overlay of read-only ext4 layer drives plus a writable drive.
 */
#ifndef RUNCVM_ROOTIMG_H
#define RUNCVM_ROOTIMG_H

#include "config.h"
#include "mounts.h"
#include "writeback.h"

/* Mounts the layer drives (found by serial), the writable drive and the overlay on target.
 * Keeps in ir a descriptor of the overlay's upper dir for the write-back at exit, and of the host
 * share of the container's root (ir->host_fd, kept open across the switch into the new root:
 * volumes are bound from it), and starts the flusher and the live write-back. */
int rootimg_mount(struct imgroot *ir, const struct vm_config *c, const char *target,
		  struct agent_err *e);

#endif
