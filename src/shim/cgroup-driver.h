/*
 * Which cgroup driver the runc shim must use for a task: the runc shim's options carry it
 * (SystemdCgroup), and the options runcvm's shim gives it are its own (create.h). containerd's
 * CRI writes the container's linux.cgroupsPath in systemd's "slice:prefix:name" form exactly
 * when the kubelet's cgroup parent is a systemd slice (the kubelet's systemd cgroup driver), and
 * a cgroupfs path otherwise, so the spec says which driver runc needs.
 */
#ifndef RUNCVM_SHIM_CGROUP_DRIVER_H
#define RUNCVM_SHIM_CGROUP_DRIVER_H

#include <stddef.h>

/* 1 when path is in runc's systemd form "slice:prefix:name" (three parts, no '/'). */
int cgroups_path_is_systemd(const char *path);
/* From the spec's JSON text (len bytes): 1 systemd, 0 cgroupfs (or no cgroupsPath), -1 when the
 * spec is malformed (err filled). */
int spec_wants_systemd_cgroup(const char *text, size_t len, char *err, size_t errlen);
/* The same for task id, whose bundle is <nsdir>/<id>: reads its config.json (bounded, no
 * symlink followed). */
int bundle_wants_systemd_cgroup(int nsdir, const char *id, char *err, size_t errlen);

#endif
