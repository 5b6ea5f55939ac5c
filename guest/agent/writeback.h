/* Write-back: the guest's changes to an image root reach the container's layer on the host. */
#ifndef RUNCVM_WRITEBACK_H
#define RUNCVM_WRITEBACK_H

#include <dirent.h>
#include <sys/stat.h>

#include "config.h"

/* Remembers the overlay upper dir, the host share of the container's root and the paths that are
 * mount points (never written back). Owns upper_fd; host_fd (-1: none) is borrowed. */
int writeback_prepare(int upper_fd, int host_fd, const struct vm_config *c);
/* Starts the live write-back of what writeback_prepare named (livewb.h); wake_fd is borrowed. */
int writeback_live_start(int wake_fd);
/* Stops the live write-back (livewb.h), removes what its passes wrote that the guest has since
 * removed, applies every change in the upper dir to the host share (whiteouts become deletions),
 * then empties the upper dir so the next start begins from the host's layer. A no-op when nothing
 * was prepared. Returns 0, or -1 after logging what failed (the upper dir is then kept). */
int writeback_run(void);

/* Pieces the live write-back shares (livewb.c). Paths are guest paths, for exclusions and logs. */
/* True for a mount point (its contents live elsewhere) and the live write-back's own directory. */
int wb_is_excluded(const char *path);
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
