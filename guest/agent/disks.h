/* Finding the virtio-blk disk the host attached with a given serial (RUNCVM_DISKS, image rootfs).
 */
#ifndef RUNCVM_DISKS_H
#define RUNCVM_DISKS_H

#include <stddef.h>

/* Writes "/dev/vdX" for the disk whose /sys/block/vd*\/serial is `serial` into dev.
 * With a DRIVE_ORDER (CONFIG tag 22; norder > 0), looks `serial` up in that list of serials in
 * the order the VMM attached the drives instead, and takes the disk at that position.
 * Waits up to 2 s for the device to appear. Returns 0, or -1 with errno ENOENT. */
int disks_find(char *const *order, size_t norder, const char *serial, char *dev, size_t devlen);

/* The name ("vdb") of the index-th virtio-blk disk under sys_block (/sys/block), counting in
 * MMIO address order from iomem (/proc/iomem), else in virtioN order. 0, or -1 if none. */
int disks_nth(const char *sys_block, const char *iomem, size_t index, char *name, size_t namelen);

#endif
