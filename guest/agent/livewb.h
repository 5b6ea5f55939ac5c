/* Live write-back: while an image-root container runs, what the guest changed reaches the
 * container's layer on the host within a bounded delay, so `docker cp` and `docker diff` of a
 * running container see it (docs/storage.md, "Live write-back"). */
#ifndef RUNCVM_LIVEWB_H
#define RUNCVM_LIVEWB_H

#include <sys/types.h>

/* Passes start at most this often... */
#define LIVEWB_MIN_INTERVAL_MS 1000
/* ...and at least this many times the last pass's duration after its end, so a large upper dir
 * costs at most about 1/(1+LIVEWB_COST_FACTOR) of one CPU. */
#define LIVEWB_COST_FACTOR 10
/* Entries of the upper dir the live passes follow; past it they stop (logged) and the layer is
 * written back at the stop only. Bounds the live process's memory (with LIVEWB_MAX_BYTES). */
#define LIVEWB_MAX_ENTRIES 200000
#define LIVEWB_MAX_BYTES   (16u << 20)
/* Directory at the root of the host share where a copy is made before it is renamed into place
 * (so `docker cp` never reads a half-written file). Exists only during a pass. */
#define LIVEWB_TMP ".runcvm-live-wb"
/* File on the writable drive's root (beside the upper dir): every host entry a pass created, as
 * (inode number, path), so the stop's write-back, or the write-back VM after a kill, removes
 * those the guest has removed since. */
#define LIVEWB_RECORD "live-written"

struct imgroot;
/* Forks the live write-back process of ir (writeback.h: its upper dir, host share and writable
 * drive's root, borrowed). It waits for a byte on wake_fd (the flusher writes one after each sync:
 * something changed) and then runs a pass. Returns 0, or -1 after logging (the container then
 * runs without it, and Docker sees the guest's changes at the stop only). */
int livewb_start(struct imgroot *ir, int wake_fd);
/* Kills the live process and waits for it: the stop's write-back must not race a pass. A no-op
 * without one. Whatever a killed pass left is redone or removed by the write-back that follows. */
void livewb_stop(struct imgroot *ir);
/* True when pid was the live process (reaped by the caller); logs that it ended. */
int livewb_reaped(struct imgroot *ir, pid_t pid, int status);

/* One pass in the calling process (the live process's loop, and tests): copies into ir's host
 * share what changed in its upper dir since the last pass and removes what an earlier pass wrote
 * that is gone from the upper dir. Returns 1 when an entry changed while it was copied (run again
 * soon), 0, or -1 when the live write-back must stop (logged). */
int livewb_pass(const struct imgroot *ir);
/* For the final write-back: removes from host_fd each entry of the record that the upper dir no
 * longer has, if it is still the inode a pass created. Returns 0, or -1 after logging. */
int livewb_prune(int upper_fd, int host_fd, int rw_fd);
/* Deletes the record (after a complete write-back) and syncs the drive. 0, or -1 after logging. */
int livewb_forget(int rw_fd);

#endif
