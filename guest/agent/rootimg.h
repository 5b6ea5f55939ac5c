/* Image rootfs mode: the root is an overlay of read-only ext4 layer drives plus a writable drive.
 */
#ifndef RUNCVM_ROOTIMG_H
#define RUNCVM_ROOTIMG_H

#include "config.h"
#include "mounts.h"

/* Mounts the layer drives (found by serial), the writable drive and the overlay on target.
 * Keeps a descriptor of the overlay's upper dir for the write-back at exit. */
int rootimg_mount(const struct vm_config *c, const char *target, struct agent_err *e);

/* The host share of the container's root (volumes are bound from it), or -1 without one. */
int rootimg_host_fd(void);

#endif
