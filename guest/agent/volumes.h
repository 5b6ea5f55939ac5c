/* RUNCVM_VOLUMES=9p: the link to the container's volume server and the 9P mounts over it. */
#ifndef RUNCVM_VOLUMES_H
#define RUNCVM_VOLUMES_H

#include "config.h"
#include "mounts.h"

/* Names and configures the link NIC (found by MAC). 0, or -1 with e filled. */
int volumes_link_up(const struct vol_link *l, struct agent_err *e);
/* Mounts one VOLUME_9P record at its destination with its own flags. 0, or -1 with e filled. */
int volumes_mount(const struct vol_link *l, const struct mount_req *m, struct agent_err *e);

#endif
