#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgstats.h"
#include "log.h"
#include "mounts.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
/* Each container's cgroup: a child of the root, named after the container. */
#define CGROUP_FMT CGROUP_ROOT "/pod-%s"

struct ctr {
	char *name;
	pid_t pid;
	int pidns, mntns, utsns, cgns;
	struct ctr *next;
};

static struct ctr *find(const struct ctrs *t, const char *name)
{
	for (struct ctr *c = t->list; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int err = errno;
	if (close(fd) != 0 && n == (ssize_t)len)
		return -1;
	errno = err;
	return n == (ssize_t)len ? 0 : -1;
}

static void cgroup_path(char *buf, size_t n, const char *name, const char *file)
{
	snprintf(buf, n, CGROUP_FMT "%s%s", name, file ? "/" : "", file ? file : "");
}

/* Writes one limit file of a container's cgroup; on failure, fills e naming file and value. */
static int set_limit(const char *name, const char *file, const char *value, struct agent_err *e)
{
	char path[512];
	cgroup_path(path, sizeof path, name, file);
	if (write_file(path, value) != 0)
		return agent_err_sys(e, errno, "set %s to %s", path, value);
	return 0;
}

/* The limits r carries, written to the container's cgroup: at its start (absent or 0 = none
 * set, the kernel's defaults stay) and at UPDATE (only the ones sent; 0 = no limit). */
static int apply_limits(const char *name, const struct start_req *r, int update,
			struct agent_err *e)
{
	char v[48];
	if (r->memory_max || (update && r->has_memory_max)) {
		if (r->memory_max)
			snprintf(v, sizeof v, "%llu", (unsigned long long)r->memory_max);
		else
			snprintf(v, sizeof v, "max");
		if (set_limit(name, "memory.max", v, e) != 0)
			return -1;
		/* No swap in the guest either way; the limit is the memory the container gets. */
		char path[512];
		cgroup_path(path, sizeof path, name, "memory.swap.max");
		if (write_file(path, "0") != 0 && errno != ENOENT)
			log_debug("set %s: %s", path, strerror(errno));
	}
	int cpu_max = r->cpu_quota || (update && r->has_cpu_max);
	/* Only when asked: a kernel without the cpu controller still runs unlimited pods. */
	if ((cpu_max || r->cpu_weight) &&
	    write_file(CGROUP_ROOT "/cgroup.subtree_control", "+cpu") != 0)
		log_debug("enable the cpu controller: %s", strerror(errno));
	if (cpu_max) {
		if (r->cpu_quota)
			snprintf(v, sizeof v, "%llu %llu", (unsigned long long)r->cpu_quota,
				 (unsigned long long)r->cpu_period);
		else
			snprintf(v, sizeof v, "max %llu", (unsigned long long)r->cpu_period);
		if (set_limit(name, "cpu.max", v, e) != 0)
			return -1;
	}
	if (r->cpu_weight) {
		snprintf(v, sizeof v, "%u", (unsigned)r->cpu_weight);
		if (set_limit(name, "cpu.weight", v, e) != 0)
			return -1;
	}
	return 0;
}

int container_prepare(const struct ctrs *t, const struct start_req *r, struct agent_err *e)
{
	if (find(t, r->container))
		return agent_err_set(e, EEXIST, "container %s is already running in this pod VM",
				     r->container);
	/* The root may hand memory and pids to its children; once is enough, failures say why
	 * below (mkdir or memory.max). */
	if (write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory +pids") != 0)
		log_debug("enable memory and pids controllers: %s", strerror(errno));
	char path[512];
	cgroup_path(path, sizeof path, r->container, NULL);
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return agent_err_sys(e, errno, "create cgroup %s", path);
	if (apply_limits(r->container, r, 0, e) != 0) {
		container_discard(r->container);
		return -1;
	}
	return 0;
}

int container_update(const struct ctrs *t, const struct start_req *r, struct agent_err *e)
{
	if (!find(t, r->update))
		return agent_err_set(e, ESRCH, "container %s is not running in this pod VM",
				     r->update);
	return apply_limits(r->update, r, 1, e);
}

int container_stats(const struct ctrs *t, const char *name, uint8_t *out, size_t *len,
		    struct agent_err *e)
{
	if (!find(t, name))
		return agent_err_set(e, ESRCH, "container %s is not running in this pod VM", name);
	char path[512];
	cgroup_path(path, sizeof path, name, NULL);
	if (cgstats_collect(path, out, len) != 0)
		return agent_err_sys(e, errno, "read cgroup %s", path);
	return 0;
}

void container_discard(const char *name)
{
	char path[512];
	cgroup_path(path, sizeof path, name, NULL);
	/* EBUSY while a killed process of it is still to be reaped: the cgroup stays, empty, until
	 * the VM ends. */
	if (rmdir(path) != 0 && errno != ENOENT)
		log_debug("remove cgroup %s: %s", path, strerror(errno));
}

static int open_ns(pid_t pid, const char *ns)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		log_warn("open %s: %s", path, strerror(errno));
	return fd;
}

static void close_ns(int *fd)
{
	if (*fd >= 0 && close(*fd) != 0)
		log_debug("close namespace fd: %s", strerror(errno));
	*fd = -1;
}

void container_started(struct ctrs *t, const char *name, pid_t pid)
{
	struct ctr *c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name))) {
		log_error("remember container %s: %s (exec into it will fail)", name,
			  strerror(ENOMEM));
		free(c);
		return;
	}
	c->pid = pid;
	c->pidns = open_ns(pid, "pid");
	c->mntns = open_ns(pid, "mnt");
	c->utsns = open_ns(pid, "uts");
	c->cgns = open_ns(pid, "cgroup");
	c->next = t->list;
	t->list = c;
}

static int oom_killed(const char *name)
{
	char path[512], line[128];
	cgroup_path(path, sizeof path, name, "memory.events");
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	unsigned long long n = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "oom_kill %llu", &n) == 1)
			break;
	fclose(f);
	return n > 0;
}

int container_exited(struct ctrs *t, const char *name)
{
	int oom = oom_killed(name);
	for (struct ctr **pp = &t->list; *pp; pp = &(*pp)->next) {
		struct ctr *c = *pp;
		if (strcmp(c->name, name) != 0)
			continue;
		*pp = c->next;
		close_ns(&c->pidns);
		close_ns(&c->mntns);
		close_ns(&c->utsns);
		close_ns(&c->cgns);
		free(c->name);
		free(c);
		break;
	}
	container_discard(name);
	return oom;
}

int container_pidns(const struct ctrs *t, const char *name)
{
	struct ctr *c = find(t, name);
	return c && c->pidns >= 0 && c->mntns >= 0 && c->utsns >= 0 ? c->pidns : -1;
}

/* The child's steps: each sets *step before the call that may fail. */
#define STEP(s, call)                                                                              \
	do {                                                                                       \
		*step = (s);                                                                       \
		if ((call) != 0)                                                                   \
			return -1;                                                                 \
	} while (0)

static int join_cgroup(const char *name)
{
	char path[512];
	cgroup_path(path, sizeof path, name, "cgroup.procs");
	return write_file(path, "0");
}

static int dir_mount(const char *src, const char *dst, const char *type, unsigned long flags,
		     const char *data)
{
	if (mkdir_p(dst, 0755) != 0)
		return -1;
	return mount(src, dst, type, flags, data);
}

/* A container's /dev: a tmpfs with the standard nodes and its own devpts, never the VM's /dev
 * (which holds the agent's channel to the host and the pod's disks). */
static int make_dev(const char **step)
{
	STEP("mount /dev",
	     dir_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k"));
	static const struct {
		const char *name;
		unsigned major, minor;
	} nodes[] = {{"null", 1, 3},   {"zero", 1, 5},	  {"full", 1, 7},
		     {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
	char path[64];
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		snprintf(path, sizeof path, "/dev/%s", nodes[i].name);
		STEP("create a device node in /dev",
		     mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)));
		/* The umask would otherwise take the w bits for group and others. */
		STEP("chmod a device node in /dev", chmod(path, 0666));
	}
	STEP("mount /dev/pts", dir_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
					 "newinstance,ptmxmode=0666,mode=0620,gid=5"));
	STEP("link /dev/ptmx", symlink("pts/ptmx", "/dev/ptmx"));
	STEP("mount /dev/shm",
	     dir_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k"));
	STEP("mount /dev/mqueue",
	     dir_mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
					       {"/proc/self/fd/0", "/dev/stdin"},
					       {"/proc/self/fd/1", "/dev/stdout"},
					       {"/proc/self/fd/2", "/dev/stderr"}};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		STEP("link /dev/fd and stdio", symlink(links[i][0], links[i][1]));
	return 0;
}

/* Where the container's root is: the pod share (a pod VM), else the join share of a VM that
 * `docker run --network container:X` joined, which the host bound over the virtiofs root's /proc
 * so that every guest /proc mount hides it from X's own processes. Called in the container's
 * own mount namespace: uncovering the share there changes nothing for the rest of the VM. */
static int container_root(const char *name, char *root, size_t n, int *joined, const char **step)
{
	snprintf(root, n, "%s/%s", POD_ROOT, name);
	*joined = 0;
	if (access(root, F_OK) == 0)
		return 0;
	*joined = 1;
	STEP("uncover the join share (unmount /proc)", umount2("/proc", MNT_DETACH));
	snprintf(root, n, "%s/%s", JOIN_ROOT, name);
	*step = "find the container's root in the join share";
	return access(root, F_OK);
}

int container_enter(const struct start_req *r, const char **step)
{
	char root[256];
	int joined;
	/* While /sys/fs/cgroup is still the VM's: the namespace below is rooted here. */
	STEP("join the container's cgroup", join_cgroup(r->container));
	STEP("unshare mount, UTS and cgroup namespaces",
	     unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWCGROUP));
	STEP("make / private", mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	if (container_root(r->container, root, sizeof root, &joined, step) != 0)
		return -1;
	STEP("bind the container's root", mount(root, root, NULL, MS_BIND | MS_REC, NULL));
	/* A bind copies its source's flags: X's read-only root (--read-only) is not the joiner's,
	 * whose own read-only root the host already enforces. */
	if (joined)
		STEP("make the container's root writable",
		     mount(NULL, root, NULL, MS_BIND | MS_REMOUNT, NULL));
	STEP("enter the container's root", chdir(root));
	/* pivot_root, then detach the VM's root: the pod VM's other containers, its /dev and
	 * /proc are unreachable from here, even with CAP_SYS_CHROOT. */
	STEP("pivot_root into the container's root", (int)syscall(SYS_pivot_root, ".", "."));
	STEP("detach the VM's root", umount2(".", MNT_DETACH));
	STEP("chdir /", chdir("/"));
	STEP("mount /proc",
	     dir_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	STEP("mount /sys", dir_mount("sysfs", "/sys", "sysfs",
				     MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	STEP("mount /sys/fs/cgroup", mount("cgroup2", "/sys/fs/cgroup", "cgroup2",
					   MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	if (make_dev(step) != 0)
		return -1;
	if (r->hostname)
		STEP("sethostname", sethostname(r->hostname, strlen(r->hostname)));
	return 0;
}

int container_join(const struct ctrs *t, const struct start_req *r, const char **step)
{
	struct ctr *c = find(t, r->join);
	*step = "find the container";
	if (!c) {
		errno = ESRCH;
		return -1;
	}
	STEP("join the container's cgroup", join_cgroup(r->join));
	STEP("join the container's cgroup namespace",
	     c->cgns >= 0 ? setns(c->cgns, CLONE_NEWCGROUP) : 0);
	STEP("join the container's UTS namespace", setns(c->utsns, CLONE_NEWUTS));
	STEP("join the container's mount namespace", setns(c->mntns, CLONE_NEWNS));
	return 0;
}
