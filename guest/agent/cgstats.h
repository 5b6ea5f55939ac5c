/*
 * A pod-VM container's figures for STATS (docs/agent-protocol.md): read from its guest cgroup
 * (memory, cpu, pids files) and encoded as the STATS payload, so the host's shim can answer
 * containerd's Task.Stats with the workload's own usage rather than its exec client's.
 */
#ifndef RUNCVM_CGSTATS_H
#define RUNCVM_CGSTATS_H

#include <stddef.h>
#include <stdint.h>

/* Largest STATS payload: every stats_tag once (14 bytes each), with room to spare. */
#define CGSTATS_MAX 1024

/* The value of "KEY VALUE" line key in text (a cgroup "flat keyed" file: memory.stat,
 * cpu.stat, memory.events). 1 and *v set when found, 0 when absent or not a number. */
int cgstats_keyed(const char *text, const char *key, uint64_t *v);
/* A single-value file's text ("12345\n", or "max\n" = UINT64_MAX). 0, or -1 if neither. */
int cgstats_single(const char *text, uint64_t *v);
/* Reads the cgroup directory dir (no symlink followed) into out (at least CGSTATS_MAX bytes):
 * *len bytes of STATS records. 0, or -1 with errno set when memory.current cannot be read
 * (not a cgroup with the memory controller); other missing files leave their records out. */
int cgstats_collect(const char *dir, uint8_t *out, size_t *len);

#endif
