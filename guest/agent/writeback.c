#include "writeback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "livewb.h"
#include "log.h"
#include "xattrs.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
/* Losses (an attribute or a hard link that could not be kept) logged one by one per write-back;
 * past this, only their number is. */
#define LOSSES_LOGGED 20

/* Scratch of the one write-back running in this process (the agent is single-threaded; the live
 * write-back process has its own copy): the copy buffer, the losses of this run and, below, its
 * hard-link table. Reset at the start of each run; nothing here outlives it. */
static char copy_buf[1 << 18];
static unsigned losses;

/* Inodes with more than one name met during this write-back: where their first name went, as a
 * path relative to host_fd. Open addressing on the inode number; rebuilt per write-back. */
struct first_name {
	dev_t dev;
	ino_t ino;
	char *path;
};
static struct first_name *links;
static size_t links_cap, links_used;

static void lost(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lost(const char *fmt, ...)
{
	if (++losses > LOSSES_LOGGED)
		return;
	char msg[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_error("write-back: %s", msg);
}

static void xattr_lost(const char *path, const char *key, int err)
{
	lost("%s: extended attribute %s not copied: %s", path, key, strerror(err));
}

static struct first_name *link_slot(struct first_name *tab, size_t cap, dev_t dev, ino_t ino)
{
	size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull) & (cap - 1);
	while (tab[i].path && !(tab[i].dev == dev && tab[i].ino == ino))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

/* The host path (relative to host_fd) of the inode's first name, or NULL. */
static const char *link_first(const struct stat *st)
{
	return links_cap ? link_slot(links, links_cap, st->st_dev, st->st_ino)->path : NULL;
}

static int link_remember(const struct stat *st, const char *path)
{
	if ((links_used + 1) * 2 > links_cap) {
		size_t cap = links_cap ? links_cap * 2 : 64;
		struct first_name *tab = calloc(cap, sizeof *tab);
		if (!tab)
			return -1;
		for (size_t i = 0; i < links_cap; i++)
			if (links[i].path)
				*link_slot(tab, cap, links[i].dev, links[i].ino) = links[i];
		free(links);
		links = tab;
		links_cap = cap;
	}
	struct first_name *slot = link_slot(links, links_cap, st->st_dev, st->st_ino);
	if (!(slot->path = strdup(path)))
		return -1;
	slot->dev = st->st_dev;
	slot->ino = st->st_ino;
	links_used++;
	return 0;
}

static void links_forget(void)
{
	for (size_t i = 0; i < links_cap; i++)
		free(links[i].path);
	free(links);
	links = NULL;
	links_cap = links_used = 0;
}

void imgroot_init(struct imgroot *ir)
{
	*ir = (struct imgroot){.upper_fd = -1,
			       .host_fd = -1,
			       .rw_fd = -1,
			       .flusher_pid = -1,
			       .poke_fd = -1,
			       .live_pid = -1};
}

static int add_excluded(struct imgroot *ir, const char *path)
{
	char **n = realloc(ir->excluded, (ir->nexcluded + 1) * sizeof *n);
	if (!n)
		return -1;
	ir->excluded = n;
	if (!(ir->excluded[ir->nexcluded] = strdup(path)))
		return -1;
	ir->nexcluded++;
	return 0;
}

int writeback_prepare(struct imgroot *ir, int up, int host, const struct vm_config *c)
{
	static const char *const always[] = {"/proc", "/sys", "/dev", "/" LIVEWB_TMP};
	ir->upper_fd = up;
	ir->host_fd = host;
	/* The writable drive's root (the upper dir's parent) holds the live write-back's record. */
	ir->rw_fd = openat(up, "..", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (ir->rw_fd < 0)
		log_error("write-back: open the writable drive's root: %s", strerror(errno));
	for (size_t i = 0; i < sizeof always / sizeof *always; i++)
		if (add_excluded(ir, always[i]) != 0)
			return -1;
	for (size_t i = 0; i < c->nmounts; i++)
		if (add_excluded(ir, c->mounts[i].dest) != 0)
			return -1;
	for (size_t i = 0; i < c->ndisks; i++)
		if (add_excluded(ir, c->disks[i].dest) != 0)
			return -1;
	return 0;
}

int wb_is_excluded(const struct imgroot *ir, const char *path)
{
	for (size_t i = 0; i < ir->nexcluded; i++)
		if (strcmp(ir->excluded[i], path) == 0)
			return 1;
	return 0;
}

static int remove_children(int dirfd);

/* rm -rf of dir/name without following symlinks; a missing entry is not an error. */
int wb_remove_at(int dir, const char *name)
{
	if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	int fd = openat(dir, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Never empty another filesystem (a volume) mounted below the dir being replaced. */
	struct stat parent, self;
	if (fstat(dir, &parent) != 0 || fstat(fd, &self) != 0) {
		int err = errno;
		close(fd);
		return errno = err, -1;
	}
	if (parent.st_dev != self.st_dev) {
		close(fd);
		return errno = EXDEV, -1;
	}
	int rc = remove_children(fd);
	close(fd);
	if (rc == 0 && unlinkat(dir, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

/* A directory stream on a dup of dirfd, read from the start: a dup shares the file offset, so
 * an earlier pass over the same descriptor would otherwise leave it at the end. */
DIR *wb_open_dir(int dirfd)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return NULL;
	DIR *d = lseek(fd, 0, SEEK_SET) == 0 ? fdopendir(fd) : NULL;
	if (!d)
		close(fd);
	return d;
}

/* Removes everything in the directory open at dirfd (the descriptor stays open). */
static int remove_children(int dirfd)
{
	DIR *d = wb_open_dir(dirfd);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    wb_remove_at(dirfd, de->d_name) != 0) {
			log_error("write-back: remove %s: %s", de->d_name, strerror(errno));
			rc = -1;
		}
	closedir(d);
	return rc;
}

static int copy_data(int in, int out)
{
	for (;;) {
		ssize_t n = read(in, copy_buf, sizeof copy_buf);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, copy_buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			off += w;
		}
	}
}

/* Attributes go after the owner and mode (chown clears security.capability), times last. */
static int copy_file(int up, const char *name, int host, const char *hname, const struct stat *st,
		     const char *path)
{
	int in = openat(up, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = openat(host, hname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = -1;
	if (out >= 0 && copy_data(in, out) == 0 && fchown(out, st->st_uid, st->st_gid) == 0 &&
	    fchmod(out, st->st_mode & 07777) == 0 &&
	    xattrs_copy(&(struct xloc){in, NULL}, &(struct xloc){out, NULL}, 0, path, xattr_lost) >=
		    0) {
		struct timespec t[2] = {st->st_atim, st->st_mtim};
		rc = futimens(out, t);
	}
	int err = errno;
	if (out >= 0 && close(out) != 0 && rc == 0) {
		err = errno;
		rc = -1;
	}
	close(in);
	errno = err;
	return rc;
}

static int copy_symlink(int up, const char *name, int host, const char *hname,
			const struct stat *st, const char *path)
{
	char target[4096];
	ssize_t n = readlinkat(up, name, target, sizeof target - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	if (symlinkat(target, host, hname) != 0 ||
	    fchownat(host, hname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	    xattrs_copy(&(struct xloc){up, name}, &(struct xloc){host, hname}, 0, path,
			xattr_lost) < 0)
		return -1;
	return utimensat(host, hname, t, AT_SYMLINK_NOFOLLOW);
}

static int copy_special(int up, const char *name, int host, const char *hname,
			const struct stat *st, const char *path)
{
	if (mknodat(host, hname, st->st_mode, st->st_rdev) != 0 ||
	    fchownat(host, hname, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	    fchmodat(host, hname, st->st_mode & 07777, 0) != 0)
		return -1;
	return xattrs_copy(&(struct xloc){up, name}, &(struct xloc){host, hname}, 0, path,
			   xattr_lost) < 0
		       ? -1
		       : 0;
}

/* A further name of an inode already written back: a hard link to its first copy. 1 when linked,
 * 0 when it must be copied after all (the loss is logged), -1 on error. */
static int link_again(const struct imgroot *ir, int host, const char *name, const char *first,
		      const char *path)
{
	if (linkat(ir->host_fd, first, host, name, 0) == 0)
		return 1;
	if (errno == ENOENT || errno == EEXIST)
		return -1;
	lost("%s: hard link to /%s not kept (%s): written as a separate copy", path, first,
	     strerror(errno));
	return 0;
}

int wb_copy_nondir(int up, const char *name, int host, const char *hname, const struct stat *st,
		   const char *path)
{
	if (S_ISREG(st->st_mode))
		return copy_file(up, name, host, hname, st, path);
	if (S_ISLNK(st->st_mode))
		return copy_symlink(up, name, host, hname, st, path);
	return copy_special(up, name, host, hname, st, path);
}

static int copy_nondir(int up, int host, const char *name, const struct stat *st, const char *path)
{
	return wb_copy_nondir(up, name, host, name, st, path);
}

int wb_is_opaque(int dirfd)
{
	char v[2];
	return fgetxattr(dirfd, OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

static int sync_dir(const struct imgroot *ir, int up, int host, char *path, size_t plen);

int wb_dir_meta(int cup, int chost, const struct stat *st, int existed, const char *path)
{
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	if (fchown(chost, st->st_uid, st->st_gid) != 0 || fchmod(chost, st->st_mode & 07777) != 0 ||
	    xattrs_copy(&(struct xloc){cup, NULL}, &(struct xloc){chost, NULL}, existed, path,
			xattr_lost) < 0 ||
	    futimens(chost, t) != 0) {
		log_error("write-back: metadata of %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A directory of the upper dir: replace what the host has if the guest replaced it (opaque, or
 * not a directory there), recurse, then set its owner, mode and times (after its children). */
static int copy_dir(const struct imgroot *ir, int up, int host, const char *name,
		    const struct stat *st, char *path, size_t plen)
{
	int cup = openat(up, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (cup < 0)
		return -1;
	struct stat hst;
	int have = fstatat(host, name, &hst, AT_SYMLINK_NOFOLLOW) == 0;
	int rc = -1;
	if (have && (!S_ISDIR(hst.st_mode) || wb_is_opaque(cup))) {
		if (wb_remove_at(host, name) != 0)
			goto out;
		have = 0;
	}
	int existed = have;
	if (!have && mkdirat(host, name, 0700) != 0)
		goto out;
	int chost = openat(host, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (chost < 0)
		goto out;
	rc = sync_dir(ir, cup, chost, path, plen);
	if (wb_dir_meta(cup, chost, st, existed, path) != 0)
		rc = -1;
	close(chost);
out:
	close(cup);
	return rc;
}

static int sync_entry(const struct imgroot *ir, int up, int host, const char *name, char *path,
		      size_t plen)
{
	struct stat st;
	if (fstatat(up, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return copy_dir(ir, up, host, name, &st, path, plen);
	/* A whiteout (0:0 character device) records a deletion. */
	if (wb_remove_at(host, name) != 0)
		return -1;
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		return 0;
	if (st.st_nlink < 2)
		return copy_nondir(up, host, name, &st, path);
	const char *first = link_first(&st);
	if (first) {
		int r = link_again(ir, host, name, first, path);
		return r != 0 ? (r > 0 ? 0 : -1) : copy_nondir(up, host, name, &st, path);
	}
	if (copy_nondir(up, host, name, &st, path) != 0)
		return -1;
	/* path is absolute in the guest; host_fd is the container's root. */
	if (link_remember(&st, path + 1) != 0)
		lost("%s: remember for its other hard links: %s", path, strerror(errno));
	return 0;
}

/* path holds the guest path of the dir (plen bytes, "" for the root) for exclusions and logs. */
static int sync_dir(const struct imgroot *ir, int up, int host, char *path, size_t plen)
{
	DIR *d = wb_open_dir(up);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		size_t n = strlen(de->d_name);
		if (plen + 1 + n >= 4096) {
			log_error("write-back: path too long below %s", path);
			rc = -1;
			continue;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, de->d_name, n + 1);
		if (!wb_is_excluded(ir, path) &&
		    sync_entry(ir, up, host, de->d_name, path, plen + 1 + n) != 0) {
			log_error("write-back: %s: %s", path, strerror(errno));
			rc = -1;
		}
		path[plen] = 0;
	}
	if (errno != 0) {
		log_error("write-back: read dir %s: %s", plen ? path : "/", strerror(errno));
		rc = -1;
	}
	closedir(d);
	return rc;
}

int writeback_live_start(struct imgroot *ir, int wake_fd)
{
	return livewb_start(ir, wake_fd);
}

int writeback_run(struct imgroot *ir)
{
	int upper_fd = ir->upper_fd, host_fd = ir->host_fd, rw_fd = ir->rw_fd;
	if (upper_fd < 0 || host_fd < 0)
		return 0;
	/* The live passes stop first: nothing else writes the layer while this runs. */
	livewb_stop(ir);
	char path[4096] = "";
	losses = 0;
	int rc = 0;
	if (wb_remove_at(host_fd, LIVEWB_TMP) != 0) {
		log_error("write-back: remove /%s: %s", LIVEWB_TMP, strerror(errno));
		rc = -1;
	}
	if (livewb_prune(upper_fd, host_fd, rw_fd) != 0)
		rc = -1;
	if (sync_dir(ir, upper_fd, host_fd, path, 0) != 0)
		rc = -1;
	links_forget();
	if (losses > LOSSES_LOGGED)
		log_error("write-back: %u more attributes or hard links not kept (not logged one "
			  "by one)",
			  losses - LOSSES_LOGGED);
	if (rc == 0 && syncfs(host_fd) != 0) {
		log_error("write-back: syncfs on the host share: %s", strerror(errno));
		rc = -1;
	}
	/* The record goes before the upper dir is emptied: a crash in between redoes the copy,
	 * never a removal of what this write-back put in the layer. */
	if (rc == 0)
		rc = livewb_forget(rw_fd);
	if (rc == 0)
		rc = remove_children(upper_fd); /* its changes now live in the container's layer */
	if (syncfs(upper_fd) != 0)
		log_error("write-back: syncfs on the writable drive: %s", strerror(errno));
	log_debug("write-back %s",
		  rc == 0 ? "done" : "failed: the writable drive keeps the changes");
	return rc;
}
