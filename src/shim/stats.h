/*
 * containerd's Task.Stats for a pod-VM container: the task id from its StatsRequest, and the
 * StatsResponse made from the guest's STATS figures: an Any holding a cgroup v2 Metrics
 * message (io.containerd.cgroups.v2.Metrics), which containerd's CRI decodes whatever the
 * host's cgroup version (the guest's is v2): working set = usage - inactive_file, CPU =
 * usage_usec.
 */
#ifndef RUNCVM_SHIM_STATS_H
#define RUNCVM_SHIM_STATS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_V2_URL "io.containerd.cgroups.v2.Metrics"
#define TASK_SERVICE   "containerd.task.v2.Task"

/* A container id as containerd allows it and runcvm's runtime uses it: [A-Za-z0-9_.-], 1 to
 * 128 bytes, starting with a letter or digit. */
int task_id_ok(const char *id);
/* The task id of a task request (StatsRequest, CreateTaskRequest: both field 1) into id (cap
 * bytes, NUL-terminated). 0, or -1 when malformed or not a valid id. */
int task_request_id(const uint8_t *p, size_t n, char *id, size_t cap);
/* The serialized StatsResponse for a STATS payload (wire.h stats_tag records). Its length, or
 * 0 when the payload is malformed or the answer does not fit in cap. */
size_t stats_response(const uint8_t *tlv, size_t n, uint8_t *out, size_t cap);

#endif
