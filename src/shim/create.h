/*
 * Task.Create through runcvm's shim: containerd 1.6's CRI ignores a handler's runtime_path
 * (fixed only in 1.7), so the handler names this shim as its runtime_type, and the CRI then
 * hands the shim its generic options instead of the runc shim's. The runc shim must still run
 * runcvm-runtime as its runc: the CreateTaskRequest's options become runc options
 * (containerd.runc.v1.Options) with binary_name = runcvm-runtime, and systemd_cgroup when the
 * task's spec asks for systemd's cgroup driver (cgroup-driver.h). Options that already are the
 * runc shim's (a containerd that honours runtime_path with runtime_type io.containerd.runc.v2)
 * pass unchanged.
 */
#ifndef RUNCVM_SHIM_CREATE_H
#define RUNCVM_SHIM_CREATE_H

#include <stddef.h>
#include <stdint.h>

#define RUNC_OPTIONS_URL "containerd.runc.v1.Options"

/* A CreateTaskRequest (p, n) with its options replaced as above, into out (cap bytes). Its
 * length; 0 when p is malformed or out too small; n and a copy of p when nothing changes. */
size_t create_with_runc_binary(const uint8_t *p, size_t n, const char *binary, int systemd_cgroup,
			       uint8_t *out, size_t cap);
/* A ttrpc Request (p, n) with its payload replaced by payload (len), into out. Its length, or 0
 * when p is malformed or out too small. */
size_t request_with_payload(const uint8_t *p, size_t n, const uint8_t *payload, size_t len,
			    uint8_t *out, size_t cap);

#endif
