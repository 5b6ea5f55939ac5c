/* RUNCVM_DISKS: finding the virtio-blk disk the host attached with a given serial. */
#ifndef RUNCVM_DISKS_H
#define RUNCVM_DISKS_H

#include <stddef.h>

/* Writes "/dev/vdX" for the disk whose /sys/block/vd*\/serial is `serial` into dev.
 * Waits up to 2 s for the device to appear. Returns 0, or -1 with errno ENOENT. */
int disks_find(const char *serial, char *dev, size_t devlen);

#endif
