/* Durability of the image root: what the workload writes reaches the writable drive (so the host)
 * within a bounded delay, and at once when a stop signal arrives (docs/storage.md, "Durability").
 */
#ifndef RUNCVM_FLUSH_H
#define RUNCVM_FLUSH_H

#include <sys/types.h>

struct imgroot; /* writeback.h: the flusher's pid and poke pipe are kept there */

/* Checking period of the flusher: data dirty in the guest is on the drive at most this long
 * (plus the time to write it) after the write returned. */
#define FLUSH_PERIOD_MS 500
/* The guest may hold at most this much dirty data (vm.dirty_bytes): it bounds how long a flush
 * takes. */
#define FLUSH_DIRTY_BYTES	     (32u << 20)
#define FLUSH_DIRTY_BACKGROUND_BYTES (8u << 20)

/* Limits the guest's dirty pages and starts the flusher, a child of the agent that syncfs()es the
 * filesystem of upper_fd (borrowed, kept open) at most once per FLUSH_PERIOD_MS whenever
 * /proc/meminfo shows dirty or writeback pages (checked every FLUSH_PERIOD_MS) or fanotify reports
 * a change of names or attributes on that filesystem, and at once whenever flush_now() pokes it.
 * After each sync it writes a byte to notify_fd (non-blocking; -1: none), the live write-back's
 * cue that something changed (livewb.h). Needs /proc/sys and /proc/meminfo. Returns 0, or -1 after
 * logging what failed (the guest then runs without it, or without the fanotify part). */
int flush_start(struct imgroot *ir, int upper_fd, int notify_fd);
/* Makes the flusher sync now (a stop signal for process 1). Never blocks; a no-op without a
 * flusher. */
void flush_now(const struct imgroot *ir);
/* True when pid was the flusher (reaped by the caller): logs that the bound no longer holds. */
int flush_reaped(struct imgroot *ir, pid_t pid, int status);

/* The Dirty + Writeback figures of a /proc/meminfo text, in KiB (-1 when neither is there). Pure.
 */
long flush_dirty_kib(const char *meminfo);

#endif
