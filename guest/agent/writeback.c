#include "writeback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"

static int upper_fd = -1;
static int host_fd = -1;
/* Mount points: their contents live elsewhere and their own inodes belong to the host. */
static char **excluded;
static size_t nexcluded;
static char copy_buf[1 << 18];

static int add_excluded(const char *path)
{
	char **n = realloc(excluded, (nexcluded + 1) * sizeof *n);
	if (!n)
		return -1;
	excluded = n;
	if (!(excluded[nexcluded] = strdup(path)))
		return -1;
	nexcluded++;
	return 0;
}

int writeback_prepare(int up, int host, const struct vm_config *c)
{
	static const char *const always[] = {"/proc", "/sys", "/dev"};
	upper_fd = up;
	host_fd = host;
	for (size_t i = 0; i < sizeof always / sizeof *always; i++)
		if (add_excluded(always[i]) != 0)
			return -1;
	for (size_t i = 0; i < c->nmounts; i++)
		if (add_excluded(c->mounts[i].dest) != 0)
			return -1;
	for (size_t i = 0; i < c->ndisks; i++)
		if (add_excluded(c->disks[i].dest) != 0)
			return -1;
	return 0;
}

static int is_excluded(const char *path)
{
	for (size_t i = 0; i < nexcluded; i++)
		if (strcmp(excluded[i], path) == 0)
			return 1;
	return 0;
}

static int remove_children(int dirfd);

/* rm -rf of dir/name without following symlinks; a missing entry is not an error. */
static int remove_at(int dir, const char *name)
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

/* Removes everything in the directory open at dirfd (the descriptor stays open). */
static int remove_children(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && remove_at(dirfd, de->d_name) != 0) {
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

static int copy_file(int up, int host, const char *name, const struct stat *st)
{
	int in = openat(up, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = openat(host, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int rc = -1;
	if (out >= 0 && copy_data(in, out) == 0 && fchown(out, st->st_uid, st->st_gid) == 0 &&
	    fchmod(out, st->st_mode & 07777) == 0) {
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

static int copy_symlink(int up, int host, const char *name, const struct stat *st)
{
	char target[4096];
	ssize_t n = readlinkat(up, name, target, sizeof target - 1);
	if (n < 0)
		return -1;
	target[n] = 0;
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	if (symlinkat(target, host, name) != 0 || fchownat(host, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	return utimensat(host, name, t, AT_SYMLINK_NOFOLLOW);
}

static int copy_special(int host, const char *name, const struct stat *st)
{
	if (mknodat(host, name, st->st_mode, st->st_rdev) != 0 ||
	    fchownat(host, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	return fchmodat(host, name, st->st_mode & 07777, 0);
}

static int is_opaque(int dirfd)
{
	char v[2];
	return fgetxattr(dirfd, OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

static int sync_dir(int up, int host, char *path, size_t plen);

/* A directory of the upper dir: replace what the host has if the guest replaced it (opaque, or
 * not a directory there), recurse, then set its owner, mode and times (after its children). */
static int copy_dir(int up, int host, const char *name, const struct stat *st, char *path, size_t plen)
{
	int cup = openat(up, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (cup < 0)
		return -1;
	struct stat hst;
	int have = fstatat(host, name, &hst, AT_SYMLINK_NOFOLLOW) == 0;
	int rc = -1;
	if (have && (!S_ISDIR(hst.st_mode) || is_opaque(cup))) {
		if (remove_at(host, name) != 0)
			goto out;
		have = 0;
	}
	if (!have && mkdirat(host, name, 0700) != 0)
		goto out;
	int chost = openat(host, name, O_DIRECTORY | O_NOFOLLOW | O_RDONLY | O_CLOEXEC);
	if (chost < 0)
		goto out;
	rc = sync_dir(cup, chost, path, plen);
	struct timespec t[2] = {st->st_atim, st->st_mtim};
	if (fchown(chost, st->st_uid, st->st_gid) != 0 || fchmod(chost, st->st_mode & 07777) != 0 ||
	    futimens(chost, t) != 0) {
		log_error("write-back: metadata of %s: %s", path, strerror(errno));
		rc = -1;
	}
	close(chost);
out:
	close(cup);
	return rc;
}

static int sync_entry(int up, int host, const char *name, char *path, size_t plen)
{
	struct stat st;
	if (fstatat(up, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (S_ISDIR(st.st_mode))
		return copy_dir(up, host, name, &st, path, plen);
	/* A whiteout (0:0 character device) records a deletion. */
	if (remove_at(host, name) != 0)
		return -1;
	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
		return 0;
	if (S_ISREG(st.st_mode))
		return copy_file(up, host, name, &st);
	if (S_ISLNK(st.st_mode))
		return copy_symlink(up, host, name, &st);
	return copy_special(host, name, &st);
}

/* path holds the guest path of the dir (plen bytes, "" for the root) for exclusions and logs. */
static int sync_dir(int up, int host, char *path, size_t plen)
{
	int fd = dup(up);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
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
		if (!is_excluded(path) && sync_entry(up, host, de->d_name, path, plen + 1 + n) != 0) {
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

int writeback_run(void)
{
	if (upper_fd < 0 || host_fd < 0)
		return 0;
	char path[4096] = "";
	int rc = sync_dir(upper_fd, host_fd, path, 0);
	if (rc == 0 && syncfs(host_fd) != 0) {
		log_error("write-back: syncfs on the host share: %s", strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = remove_children(upper_fd); /* its changes now live in the container's layer */
	if (syncfs(upper_fd) != 0)
		log_error("write-back: syncfs on the writable drive: %s", strerror(errno));
	log_debug("write-back %s", rc == 0 ? "done" : "failed: the writable drive keeps the changes");
	return rc;
}
