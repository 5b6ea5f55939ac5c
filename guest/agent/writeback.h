/* Write-back: the guest's changes to an image root reach the container's layer on the host. */
#ifndef RUNCVM_WRITEBACK_H
#define RUNCVM_WRITEBACK_H

#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"

/* The image root's write-back: the descriptors it copies between, the paths it leaves out, and
 * the helper processes that keep the drive and the layer current (flush.c, livewb.c). One per
 * agent, in struct agent (agent.h); imgroot_init makes an empty one (no image root). */
struct imgroot {
	int upper_fd; /* the overlay's upper dir (owned), else -1 */
	int host_fd;  /* the host share of the container's root (rootimg.c), else -1 */
	int rw_fd;    /* the writable drive's root, where the live record lives, else -1 */
	/* Mount points (their contents live elsewhere, their inodes belong to the host) and the
	 * live write-back's own directory: never written back. Guest paths. */
	char **excluded;
	size_t nexcluded;
	pid_t flusher_pid; /* flush.c's flusher, else -1 */
	int poke_fd;	   /* write end of the pipe the flusher waits on, else -1 */
	pid_t live_pid;	   /* livewb.c's live write-back process, else -1 */
};

void imgroot_init(struct imgroot *ir);
/* Remembers the overlay upper dir, the host share of the container's root and the paths that are
 * mount points (never written back). Owns upper_fd; host_fd (-1: none) is borrowed. */
int writeback_prepare(struct imgroot *ir, int upper_fd, int host_fd, const struct vm_config *c);
/* Starts the live write-back of what writeback_prepare named (livewb.h); wake_fd is borrowed. */
int writeback_live_start(struct imgroot *ir, int wake_fd);
/* Stops the live write-back (livewb.h), removes what its passes wrote that the guest has since
 * removed, applies every change in the upper dir to the host share (whiteouts become deletions),
 * then empties the upper dir so the next start begins from the host's layer. A no-op when nothing
 * was prepared. Returns 0, or -1 after logging what failed (the upper dir is then kept). */
int writeback_run(struct imgroot *ir);

/* Pieces the live write-back shares (livewb.c). Paths are guest paths, for exclusions and logs. */
/* True for a mount point (its contents live elsewhere) and the live write-back's own directory. */
int wb_is_excluded(const struct imgroot *ir, const char *path);
/* rm -rf of dir/name without following symlinks or crossing into another filesystem; a missing
 * entry is not an error. */
int wb_remove_at(int dir, const char *name);
/* A directory stream over the directory open at dirfd, from its start (dirfd stays open). */
DIR *wb_open_dir(int dirfd);
/* True when the upper dir open at dirfd is opaque (it replaced a lower directory). */
int wb_is_opaque(int dirfd);
/* Copies a non-directory (file, symlink, fifo, device) up/name to the new name host/hname, with
 * owner, mode, xattrs and times; hname must not exist. */
int wb_copy_nondir(int up, const char *name, int host, const char *hname, const struct stat *st,
		   const char *path);
/* Owner, mode, xattrs (with existed: also removes those the guest removed) and times of a dir. */
int wb_dir_meta(int cup, int chost, const struct stat *st, int existed, const char *path);

#endif
