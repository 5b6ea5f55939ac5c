#include "rootimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disks.h"
#include "flush.h"
#include "log.h"
#include "writeback.h"

#define LAYERS_DIR "/layers"
#define RW_DIR	   "/rw"
#define HOSTFS_DIR "/hostfs"

static int fail(struct agent_err *e, const char *what, const char *arg)
{
	return agent_err_sys(e, errno, "image root: %s %s", what, arg);
}

static int mkdir_once(const char *path, struct agent_err *e)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return fail(e, "mkdir", path);
	return 0;
}

static int mount_drive(const struct vm_config *c, const char *serial, const char *dir,
		       unsigned long flags, const char *data, struct agent_err *e)
{
	char dev[64];
	if (disks_find(c->drive_order, c->ndrive_order, serial, dev, sizeof dev) != 0)
		return fail(e, "no drive with serial", serial);
	if (mkdir_once(dir, e) != 0)
		return -1;
	if (mount(dev, dir, "ext4", flags, data) != 0)
		return fail(e, "mount ext4 from", dev);
	log_debug("image root: %s (%s) on %s", dev, serial, dir);
	return 0;
}

/* lowerdir=/layers/0:/layers/1:…, top layer first, as the host listed them. */
static int lower_option(const struct vm_config *c, char *buf, size_t len, struct agent_err *e)
{
	if (mkdir_once(LAYERS_DIR, e) != 0)
		return -1;
	size_t off = 0;
	for (size_t i = 0; i < c->nlowers; i++) {
		char dir[64];
		snprintf(dir, sizeof dir, LAYERS_DIR "/%zu", i);
		/* noload: a read-only layer shared by many VMs must never have its journal
		 * replayed. */
		if (mount_drive(c, c->root_lowers[i], dir, MS_RDONLY | MS_NOATIME, "noload", e) !=
		    0)
			return -1;
		int n = snprintf(buf + off, len - off, "%s%s", i ? ":" : "", dir);
		if (n < 0 || (size_t)n >= len - off)
			return errno = ENAMETOOLONG, fail(e, "overlay options for", dir);
		off += (size_t)n;
	}
	return 0;
}

int rootimg_mount(struct imgroot *ir, const struct vm_config *c, const char *target,
		  struct agent_err *e)
{
	int host_fd = -1;
	char lowers[1024], opts[1400];
	if (lower_option(c, lowers, sizeof lowers, e) != 0)
		return -1;
	/* noinit_itable: the drive is a sparse file; lazy inode-table zeroing would fill it.
	 * commit=1: metadata-only changes (create, rename, unlink, chmod) reach the drive within 1
	 * s (ext4's default is 5 s); data goes with the flusher's syncs (flush.c). */
	if (mount_drive(c, c->root_upper, RW_DIR, MS_NOATIME, "noinit_itable,commit=1", e) != 0)
		return -1;
	if (mkdir_once(RW_DIR "/upper", e) != 0 || mkdir_once(RW_DIR "/work", e) != 0)
		return -1;
	/* The upper dir must stay self-contained (no redirects, metacopy or index into the layers):
	 * the write-back copies it to the host as plain files, dirs, links and whiteouts. */
	snprintf(opts, sizeof opts,
		 "lowerdir=%s,upperdir=" RW_DIR "/upper,workdir=" RW_DIR
		 "/work,redirect_dir=off,metacopy=off,index=off",
		 lowers);
	if (mount("overlay", target, "overlay", 0, opts) != 0)
		return fail(e, "mount overlay on", target);
	int upper = open(RW_DIR "/upper", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (upper < 0)
		return fail(e, "open", RW_DIR "/upper");
	/* The flusher cues the live write-back (a pipe) after each sync; only for a running
	 * container whose root is written back, never in the write-back VM. */
	int has_share = c->root_host_9p || (c->root_tag && c->root_tag[0]);
	int cue[2] = {-1, -1};
	if (has_share && !c->writeback_only && !c->root_readonly &&
	    pipe2(cue, O_CLOEXEC | O_NONBLOCK) != 0)
		log_error("image root: pipe for the live write-back: %s (docker cp and diff see "
			  "the guest's changes when it stops)",
			  strerror(errno));
	/* Before the host share is open, so the flusher holds nothing of it. Not fatal: without it
	 * the guest's writes reach the drive at the kernel's pace, as the error says. */
	flush_start(ir, upper, cue[1]);
	/* The host share of the container's root: volumes are bound from it and the write-back
	 * writes into it. Without one (no virtiofs), changes stay on the writable drive only. */
	if (has_share) {
		if (mkdir_once(HOSTFS_DIR, e) != 0)
			return -1;
		if (c->root_host_9p) {
			char server[16];
			const uint8_t *a = c->vol_link.server;
			snprintf(server, sizeof server, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
			if (!c->vol_link.present ||
			    mount(server, HOSTFS_DIR, "9p", MS_NOSUID | MS_NODEV,
				  c->root_host_9p) != 0)
				return fail(e, "mount the container's root over 9p from", server);
		} else if (mount(c->root_tag, HOSTFS_DIR, "virtiofs", 0, NULL) != 0) {
			return fail(e, "mount virtiofs", c->root_tag);
		}
		host_fd = open(HOSTFS_DIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
		if (host_fd < 0)
			return fail(e, "open", HOSTFS_DIR);
	}
	if (writeback_prepare(ir, upper, host_fd, c) != 0)
		return fail(e, "prepare the write-back of", RW_DIR "/upper");
	if (cue[0] >= 0) {
		writeback_live_start(
			ir, cue[0]); /* not fatal: it logs, and the stop still writes back */
		close(cue[0]);
		close(cue[1]);
	}
	log_debug("image root: overlay %s", opts);
	return 0;
}
