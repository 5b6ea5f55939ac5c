#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disks.h"
#include "log.h"
#include "rootimg.h"
#include "volumes.h"

#define NEWROOT	      "/newroot"
#define MS_USER_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

/* Most failures here are the last syscall's. */
#define fail(e, ...) agent_err_sys((e), errno, __VA_ARGS__)

static int do_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		    const char *data)
{
	if (mount(src, dst, type, flags, data) != 0) {
		log_error("mount %s on %s (%s): %s", src ? src : "none", dst, type ? type : "-",
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* The initramfs's mounts (mounts_early) the new root needs too, with the same flags: one proc for
 * the one PID namespace, one sysfs, and devtmpfs is one instance anyway. In the order the root
 * had them before, so that a container's /proc/mounts lists them as it did. */
static const struct early_mount {
	const char *path, *type;
	unsigned long flags;
	const char *data;
} early[] = {{"/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	     {"/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
	     {"/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL}};
#define NEARLY (sizeof early / sizeof *early)

/* boot() mounted /proc already (to read the command line): a second one would only hide it.
 * CONFIG_DEVTMPFS_MOUNT does not apply to an initramfs: /dev is mounted here too. */
int mounts_early(void)
{
	for (size_t i = 1; i < NEARLY; i++)
		if (do_mount(early[i].type, early[i].path, early[i].type, early[i].flags,
			     early[i].data) != 0)
			return -1;
	return 0;
}

/* mkdir -p, but only creating what is missing: the root may be read-only or shared. */
int mkdir_p(const char *path, mode_t mode)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
	char buf[4096];
	if (strlen(path) >= sizeof buf)
		return errno = ENAMETOOLONG, -1;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Moves them into the new root rather than unmounting them and mounting new ones there: the new
 * proc, devtmpfs and sysfs mounts cost ~15 ms of every start under TCG (docs/performance.md, "the
 * agent's setup"). Only onto a plain directory (made when missing): an image's symlink would
 * resolve outside the new root before the chroot, so such a mount point gets a new mount after
 * the chroot instead, as before. Sets moved[i] for each.
 * /proc is bound, not moved: an image root's live write-back process was forked while the root
 * was still the initramfs's (rootimg.c) and stays there, and it reaches a symlink's xattrs
 * through /proc/self/fd (xattrs.c); without a /proc of its own there every symlink failed. */
static int move_early_mounts(int moved[NEARLY], struct agent_err *e)
{
	char dst[64];
	for (size_t i = 0; i < NEARLY; i++) {
		struct stat st;
		int is_proc = strcmp(early[i].path, "/proc") == 0;
		snprintf(dst, sizeof dst, NEWROOT "%s", early[i].path);
		moved[i] = 0;
		if (lstat(dst, &st) != 0) {
			if (errno != ENOENT || mkdir(dst, 0755) != 0)
				return fail(e, "create mount point %s in the new root",
					    early[i].path);
		} else if (!S_ISDIR(st.st_mode)) {
			/* Not needed any more; open fds (port, console) keep /dev's alive. */
			if (!is_proc && umount2(early[i].path, MNT_DETACH) != 0)
				log_warn("detach initramfs %s: %s", early[i].path, strerror(errno));
			continue;
		}
		if (is_proc) {
			/* A bind of an empty directory would hide the new proc: only a mounted one.
			 */
			if (access("/proc/self", F_OK) != 0)
				continue;
			if (mount("/proc", dst, NULL, MS_BIND, NULL) != 0)
				return fail(e, "bind the initramfs's /proc into the new root");
			moved[i] = 1;
			continue;
		}
		if (mount(early[i].path, dst, NULL, MS_MOVE, NULL) == 0)
			moved[i] = 1;
		else if (errno != EINVAL)
			return fail(e, "move the initramfs's %s into the new root", early[i].path);
		/* EINVAL: not mounted at boot (logged then); a new mount after the chroot. */
	}
	return 0;
}

static int mount_at(struct agent_err *e, const char *src, const char *dst, const char *type,
		    unsigned long flags, const char *data)
{
	if (mkdir_p(dst, 0755) != 0)
		return fail(e, "create mount point %s for %s", dst, type);
	if (mount(src, dst, type, flags, data) != 0)
		return fail(e, "mount %s on %s", type, dst);
	return 0;
}

/* The initramfs cannot be pivot_root'ed: move the new root over / and chroot into it. */
static int switch_root(struct imgroot *ir, const struct vm_config *c, struct agent_err *e)
{
	if (c->nlowers > 0) {
		if (mkdir_p(NEWROOT, 0755) != 0)
			return fail(e, "create %s", NEWROOT);
		if (rootimg_mount(ir, c, NEWROOT, e) != 0)
			return -1;
	} else if (mount(c->root_tag, NEWROOT, "virtiofs", 0, NULL) != 0) {
		return fail(e, "mount virtiofs %s on %s", c->root_tag, NEWROOT);
	}
	int moved[NEARLY];
	if (move_early_mounts(moved, e) != 0)
		return -1;
	if (chdir(NEWROOT) != 0)
		return fail(e, "chdir %s", NEWROOT);
	if (mount(".", "/", NULL, MS_MOVE, NULL) != 0)
		return fail(e, "move %s to /", NEWROOT);
	if (chroot(".") != 0)
		return fail(e, "chroot %s", NEWROOT);
	if (chdir("/") != 0)
		return fail(e, "chdir / in the new root");
	for (size_t i = 0; i < NEARLY; i++)
		if (!moved[i] && mount_at(e, early[i].type, early[i].path, early[i].type,
					  early[i].flags, early[i].data) != 0)
			return -1;
	return 0;
}

/* An image root lacks the mount points Docker made in the container's layer: make a dir, or an
 * empty file for a file bind (/etc/hosts), as the source is. */
static int make_mount_point(const char *src, const char *dst, struct agent_err *e)
{
	struct stat st;
	if (lstat(dst, &st) == 0)
		return 0;
	if (stat(src, &st) != 0)
		return fail(e, "stat bind source %s", src);
	if (S_ISDIR(st.st_mode))
		return mkdir_p(dst, 0755) == 0 ? 0 : fail(e, "create mount point %s", dst);
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", dst);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir_p(parent, 0755) != 0)
			return fail(e, "create mount point %s", parent);
	}
	int fd = open(dst, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(e, "create mount point %s", dst);
	close(fd);
	return 0;
}

/* virtiofs submounts inherit the root's flags: give each volume its own (rootlab F6). With an
 * image root the volumes come from the host share of the container's root instead. */
static int apply_bind(const struct imgroot *ir, const struct mount_req *m, struct agent_err *e)
{
	unsigned long fl = m->flags & MS_USER_FLAGS;
	char src[4200];
	int host = ir->host_fd;
	if (host >= 0) {
		snprintf(src, sizeof src, "/proc/self/fd/%d%s", host, m->dest);
		if (make_mount_point(src, m->dest, e) != 0)
			return -1;
	} else {
		snprintf(src, sizeof src, "%s", m->dest);
	}
	if (mount(src, m->dest, NULL, MS_BIND | MS_REC, NULL) != 0)
		return fail(e, "bind mount %s", m->dest);
	if (mount(NULL, m->dest, NULL, MS_BIND | MS_REMOUNT | fl, NULL) != 0)
		return fail(e, "remount %s with flags 0x%lx", m->dest, fl);
	log_debug("bind %s flags 0x%lx", m->dest, fl);
	return 0;
}

static int apply_mounts(const struct imgroot *ir, const struct vm_config *c, struct agent_err *e)
{
	for (size_t i = 0; i < c->nmounts; i++) {
		const struct mount_req *m = &c->mounts[i];
		if (m->ninep) {
			if (volumes_mount(&c->vol_link, m, e) != 0)
				return -1;
			continue;
		}
		if (!m->tmpfs && apply_bind(ir, m, e) != 0)
			return -1;
		if (!m->tmpfs)
			continue;
		/* Docker's /dev/shm is a tmpfs named "shm" (what df and /proc/mounts show under
		 * runc); mount_dev leaves that path to it. */
		const char *src = strcmp(m->dest, "/dev/shm") == 0 ? "shm" : "tmpfs";
		if (mount_at(e, src, m->dest, "tmpfs", m->flags & MS_USER_FLAGS, m->data) != 0)
			return -1;
		log_debug("tmpfs %s flags 0x%x data %s", m->dest, m->flags, m->data ? m->data : "");
	}
	return 0;
}

/* RUNCVM_DISKS: after the volumes, so a disk may sit on a path below one. */
static int mount_disks(const struct vm_config *c, struct agent_err *e)
{
	for (size_t i = 0; i < c->ndisks; i++) {
		const struct disk_req *d = &c->disks[i];
		char dev[64];
		if (disks_find(c->drive_order, c->ndrive_order, d->serial, dev, sizeof dev) != 0)
			return fail(e, "RUNCVM_DISKS: no disk with serial %s for %s", d->serial,
				    d->dest);
		if (mount_at(e, dev, d->dest, d->fstype, (d->flags & MS_USER_FLAGS) | MS_NOATIME,
			     NULL) != 0)
			return -1;
		log_debug("disk %s (%s) on %s", dev, d->fstype, d->dest);
	}
	return 0;
}

static void dev_symlink(const char *target, const char *path)
{
	if (symlink(target, path) != 0 && errno != EEXIST)
		log_warn("symlink %s -> %s: %s", path, target, strerror(errno));
}

/* Whether the container's own mounts put something on path (Docker's /dev/shm). */
static int has_mount(const struct vm_config *c, const char *path)
{
	for (size_t i = 0; i < c->nmounts; i++)
		if (strcmp(c->mounts[i].dest, path) == 0)
			return 1;
	return 0;
}

/* /dev is the initramfs's devtmpfs (switch_root). */
static int mount_dev(const struct vm_config *c, struct agent_err *e)
{
	if (mount_at(e, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
		return -1;
	/* devtmpfs's ptmx node would be 0600 root: point it at this devpts instance, as runc does.
	 */
	if (unlink("/dev/ptmx") != 0 && errno != ENOENT)
		return fail(e, "remove /dev/ptmx");
	if (symlink("pts/ptmx", "/dev/ptmx") != 0)
		return fail(e, "symlink /dev/ptmx");
	/* Docker's own /dev/shm (apply_mounts) would hide this one: a tmpfs mount saved. */
	if (!has_mount(c, "/dev/shm") &&
	    mount_at(e, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		     "mode=1777,size=65536k") != 0)
		return -1;
	if (mkdir("/dev/mqueue", 0755) != 0 && errno != EEXIST)
		log_warn("mkdir /dev/mqueue: %s", strerror(errno));
	else if (mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) !=
		 0)
		log_warn("mount mqueue on /dev/mqueue: %s", strerror(errno));
	dev_symlink("/proc/self/fd", "/dev/fd");
	dev_symlink("/proc/self/fd/0", "/dev/stdin");
	dev_symlink("/proc/self/fd/1", "/dev/stdout");
	dev_symlink("/proc/self/fd/2", "/dev/stderr");
	return 0;
}

/* The guest's whole cgroup2 tree, writable: the VM is the workload's own machine, so an init
 * (systemd) or a container engine (dockerd, runc) manages it as on a host. Mounted here because
 * dockerd expects it mounted, and systemd keeps a cgroup2 mount it finds. Not fatal: a
 * RUNCVM_KERNEL without cgroup2 still runs ordinary workloads. */
static void mount_cgroup2(void)
{
	unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	/* systemd's own options; memory_recursiveprot needs Linux 5.7, nsdelegate 4.15. */
	static const char *const opts[] = {"nsdelegate,memory_recursiveprot", "nsdelegate", NULL};
	for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
		if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", safe, opts[i]) == 0)
			return;
		if (errno != EINVAL)
			break;
	}
	log_warn("mount cgroup2 on /sys/fs/cgroup: %s", strerror(errno));
}

int mounts_setup_writeback(struct imgroot *ir, const struct vm_config *c, struct agent_err *e)
{
	if (c->nlowers == 0 || !c->root_upper)
		return agent_err_sys(e, EINVAL, "write-back only: the root is not an image");
	if (c->vol_link.present && volumes_link_up(&c->vol_link, e) != 0)
		return -1;
	if (mkdir_p(NEWROOT, 0755) != 0)
		return fail(e, "create %s", NEWROOT);
	return rootimg_mount(ir, c, NEWROOT, e);
}

int mounts_setup_root(struct imgroot *ir, const struct vm_config *c, struct agent_err *e)
{
	/* The volume link first: an image root's write-back target may come over it too. */
	if (c->vol_link.present && volumes_link_up(&c->vol_link, e) != 0)
		return -1;
	/* Switching first makes image symlinks in mount destinations resolve inside the root. */
	if (switch_root(ir, c, e) != 0)
		return -1;
	if (mount_dev(c, e) != 0)
		return -1;
	mount_cgroup2();
	/* Volumes last, so that one below /dev or /sys is not hidden by those mounts. */
	if (apply_mounts(ir, c, e) != 0)
		return -1;
	if (mount_disks(c, e) != 0)
		return -1;
	/* A bind remount changes only the root mount; submounts keep their own flags. */
	if (c->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
		return fail(e, "remount / read-only");
	if (c->hostname && c->hostname[0] && sethostname(c->hostname, strlen(c->hostname)) != 0)
		return fail(e, "sethostname %s", c->hostname);
	return 0;
}

/* Filesystems whose contents live in guest memory only: nothing of theirs must reach a disk or
 * the host before the power-off, so they are not unmounted. Each unmount costs a few ms under
 * TCG (an RCU grace period, the tree walk); these are half of a plain container's mounts
 * (docs/performance.md, "Start path"). */
static int memory_only_fs(const char *type)
{
	static const char *const types[] = {"proc",	  "sysfs",   "devtmpfs", "devpts",
					    "mqueue",	  "cgroup2", "cgroup",	 "tmpfs",
					    "ramfs",	  "bpf",     "tracefs",	 "debugfs",
					    "securityfs", "pstore",  "configfs", "binfmt_misc",
					    "hugetlbfs",  "fusectl", "nsfs",	 NULL};
	for (size_t i = 0; types[i]; i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	return 0;
}

void mounts_unmount_all(void)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	if (!f) {
		log_debug("open /proc/self/mounts: %s", strerror(errno));
		return;
	}
	char line[1024];
	char *targets[256];
	size_t n = 0;
	while (n < 256 && fgets(line, sizeof line, f)) {
		char dst[512], type[64];
		if (sscanf(line, "%*s %511s %63s", dst, type) == 2 && strcmp(dst, "/") != 0 &&
		    !memory_only_fs(type))
			targets[n++] = strdup(dst);
	}
	fclose(f);
	/* /proc/self/mounts lists parents first: undo it backwards. */
	while (n > 0) {
		char *t = targets[--n];
		if (t && umount2(t, MNT_DETACH) != 0)
			log_debug("umount %s: %s", t, strerror(errno));
		free(t);
	}
}
