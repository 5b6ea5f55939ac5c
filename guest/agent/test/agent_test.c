/* Host-side tests of the agent's pure pieces: the error type, the pod's container table,
 * transport choice, drive order, CONFIG records, the vsock listener, the flusher's meminfo reading,
 * the write-back's hard links and xattrs; the CONFIG/START decoders in parse_test.c, the channel's
 * framing and the HELLO check in flow_test.c. Built and run by `make test`
 * (src/vmm/firecracker/guest-agent.test.ts). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../agenterr.h"
#include "../cgstats.h"
#include "../channel.h"
#include "../config.h"
#include "../container.h"
#include "../disks.h"
#include "../flush.h"
#include "../livewb.h"
#include "../portfwd.h"
#include "../sysctl.h"
#include "../writeback.h"
#include "check.h"
#include "../../../src/agent-protocol/wire.h"

int failures;

static char root[] = "/tmp/runcvm-agent-test-XXXXXX";

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			perror(path);
		*p = '/';
	}
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		perror(path);
}

static void link_to(const char *rel, const char *target)
{
	char path[512], dst[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	snprintf(dst, sizeof dst, "%s/%s", root, target);
	if (symlink(dst, path) != 0)
		perror(path);
}

static int devices(void)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/virtio", root);
	return channel_virtio_devices(dir);
}

static void test_transport_choice(void)
{
	CHECK(devices() == 0);
	put("virtio/virtio0/device", "0x0002\n"); /* block */
	put("virtio/virtio1/device", "0x0013\n"); /* vsock */
	CHECK(devices() == VIRTIO_HAS_VSOCK);	  /* Firecracker: vsock is the channel */
	put("virtio/virtio2/device", "0x0003\n"); /* console */
	CHECK(devices() ==
	      (VIRTIO_HAS_VSOCK | VIRTIO_HAS_CONSOLE)); /* QEMU with vhost-vsock: the port wins */
}

/* vdX whose device is virtioN on platform device plat. */
static void disk(const char *vd, const char *plat, int n)
{
	char rel[128], target[128];
	snprintf(rel, sizeof rel, "sys/devices/platform/%s/virtio%d/.keep", plat, n);
	put(rel, "");
	snprintf(rel, sizeof rel, "sys/block/%s", vd);
	snprintf(target, sizeof target, "sys/block/%s/.keep", vd);
	put(target, "");
	snprintf(rel, sizeof rel, "sys/block/%s/device", vd);
	snprintf(target, sizeof target, "sys/devices/platform/%s/virtio%d", plat, n);
	link_to(rel, target);
}

static const char *nth(const char *iomem, size_t i)
{
	static char name[64];
	char sys_block[512], iomem_path[512];
	snprintf(sys_block, sizeof sys_block, "%s/sys/block", root);
	snprintf(iomem_path, sizeof iomem_path, "%s/%s", root, iomem);
	return disks_nth(sys_block, iomem_path, i, name, sizeof name) == 0 ? name : "none";
}

static void test_drive_order(void)
{
	/* Probe order (virtioN, vdX) differs from the attach order, which the addresses keep. */
	disk("vda", "LNRO0005:02", 0);
	disk("vdb", "LNRO0005:00", 1);
	disk("vdc", "LNRO0005:01", 2);
	put("iomem", "00000000-00000fff : Reserved\n"
		     "c0000000-dfffffff : PCI Bus 0000:00\n"
		     "  d0000000-d0000fff : LNRO0005:00\n"
		     "  d0001000-d0001fff : LNRO0005:01\n"
		     "  d0002000-d0002fff : LNRO0005:02\n");
	CHECK(strcmp(nth("iomem", 0), "vdb") == 0);
	CHECK(strcmp(nth("iomem", 1), "vdc") == 0);
	CHECK(strcmp(nth("iomem", 2), "vda") == 0);
	CHECK(strcmp(nth("iomem", 3), "none") == 0);
	/* Addresses unreadable: virtioN order. */
	put("iomem-empty", "");
	CHECK(strcmp(nth("iomem-empty", 0), "vda") == 0);
	CHECK(strcmp(nth("iomem-empty", 2), "vdc") == 0);
}

static void test_config_drive_order(void)
{
	struct tlv_buf b = {0};
	tlv_add_str(&b, 2, "root");
	tlv_add_str(&b, 22, "rootfs");
	tlv_add_str(&b, 22, "disk0");
	struct vm_config c;
	struct agent_err err = {0};
	CHECK(config_parse(b.data, b.len, &c, &err) == 0);
	CHECK(c.ndrive_order == 2 && strcmp(c.drive_order[0], "rootfs") == 0 &&
	      strcmp(c.drive_order[1], "disk0") == 0);
	config_free(&c);
	struct tlv_buf empty = {0};
	tlv_add_str(&empty, 2, "root");
	tlv_add_str(&empty, 22, "");
	CHECK(config_parse(empty.data, empty.len, &c, &err) != 0);
	config_free(&c);
}

/* A SYSCTL record (tag 24): "path\0value". */
static void tlv_sysctl(struct tlv_buf *b, const char *path, const char *value)
{
	char rec[128];
	int n = snprintf(rec, sizeof rec, "%s%c%s", path, 0, value);
	tlv_add(b, 24, rec, (uint32_t)n);
}

static void test_config_sysctl(void)
{
	struct tlv_buf b = {0};
	tlv_add_str(&b, 2, "root");
	tlv_sysctl(&b, "net/ipv4/ping_group_range", "0 2147483647");
	tlv_sysctl(&b, "kernel/msgmax", "65536");
	struct vm_config c;
	struct agent_err err = {0};
	CHECK(config_parse(b.data, b.len, &c, &err) == 0);
	CHECK(c.nsysctls == 2 && strcmp(c.sysctls[0].path, "net/ipv4/ping_group_range") == 0 &&
	      strcmp(c.sysctls[0].value, "0 2147483647") == 0 &&
	      strcmp(c.sysctls[1].value, "65536") == 0);
	config_free(&c);
	const char *bad[] = {
		"../etc/passwd", "net/../../x", "/proc/sys/x", "net//x", "net/./x", "net/x/", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tlv_buf one = {0};
		tlv_add_str(&one, 2, "root");
		tlv_sysctl(&one, bad[i], "1");
		CHECK(config_parse(one.data, one.len, &c, &err) != 0);
		config_free(&c);
	}
	CHECK(sysctl_path_ok("net/ipv4/conf/eno2.100/rp_filter") &&
	      sysctl_path_ok("kernel/msgmax"));
	/* Applying: a missing key fails with the file and the reason. */
	struct sysctl_req missing = {"runcvm-test/no-such-key", "1"};
	CHECK(sysctl_apply(&missing, 1, &err) == -1 && err.errnum == ENOENT &&
	      strstr(err.msg, "/proc/sys/runcvm-test/no-such-key") != NULL);
}

static void test_vsock_listen(void)
{
	int fd = vsock_listen(AGENT_VSOCK_PORT + 7);
	if (fd < 0 && (errno == EAFNOSUPPORT || errno == ENODEV)) {
		printf("skip vsock_listen: this host has no vsock (%s)\n", strerror(errno));
		return;
	}
	CHECK(fd >= 0);
	struct {
		sa_family_t family;
		unsigned short reserved;
		unsigned int port, cid;
		unsigned char zero[4];
	} addr;
	socklen_t len = sizeof addr;
	CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0 && addr.family == AF_VSOCK &&
	      addr.port == AGENT_VSOCK_PORT + 7);
	close(fd);
}

static void test_meminfo(void)
{
	CHECK(flush_dirty_kib("MemTotal: 1 kB\nDirty:             12 kB\nWriteback:         3 "
			      "kB\nWritebackTmp: 100 kB\n") == 15);
	CHECK(flush_dirty_kib("MemTotal: 1 kB\nDirty: 0 kB\nWriteback: 0 kB\n") == 0);
	CHECK(flush_dirty_kib("Dirty: 7 kB\n") == 7);
	CHECK(flush_dirty_kib("MemTotal: 1 kB\n") == -1);
}

static int dir_fd(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	return open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

static struct stat st_of(const char *rel)
{
	char path[512];
	struct stat st = {0};
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (lstat(path, &st) != 0)
		st.st_ino = 0;
	return st;
}

static int xattr_is(const char *rel, const char *key, const char *want)
{
	char path[512], v[64];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	ssize_t n = lgetxattr(path, key, v, sizeof v - 1);
	if (n < 0)
		return want == NULL;
	v[n] = 0;
	return want && strcmp(v, want) == 0;
}

static void set_xattr(const char *rel, const char *key, const char *value)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (lsetxattr(path, key, value, strlen(value), 0) != 0)
		perror(path);
}

static void hard_link(const char *rel, const char *to)
{
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/%s", root, rel);
	snprintf(b, sizeof b, "%s/%s", root, to);
	if (link(a, b) != 0)
		perror(b);
}

/* An upper dir with hard links, xattrs, an opaque dir and a whiteout, written back into a host dir.
 */
static void test_writeback(void)
{
	if (geteuid() != 0) {
		printf("skip writeback: needs root (whiteouts, trusted.* xattrs)\n");
		return;
	}
	put("up/d/a", "shared\n");
	hard_link("up/d/a", "up/d/b");
	put("up/e/.keep", "");
	hard_link("up/d/a", "up/e/c");
	put("up/d/solo", "solo\n");
	set_xattr("up/d/solo", "user.color", "blue");
	set_xattr("up/d/a", "user.tag", "twin");
	set_xattr("up/d/solo", "trusted.note", "kept");
	set_xattr("up/e", "trusted.overlay.opaque", "y");
	set_xattr("up/d", "user.dir", "new");
	char wh[512];
	snprintf(wh, sizeof wh, "%s/up/gone", root);
	if (mknod(wh, S_IFCHR | 0, makedev(0, 0)) != 0)
		perror(wh);
	put("host/gone", "old\n");
	put("host/e/old", "replaced by the opaque dir\n");
	put("host/d/.keep", "");
	set_xattr("host/d", "user.stale", "x");
	struct vm_config c;
	memset(&c, 0, sizeof c);
	int up = dir_fd("up"), host = dir_fd("host");
	struct imgroot ir;
	imgroot_init(&ir);
	CHECK(up >= 0 && host >= 0 && writeback_prepare(&ir, up, host, &c) == 0);
	CHECK(writeback_run(&ir) == 0);
	struct stat a = st_of("host/d/a"), b = st_of("host/d/b"), e = st_of("host/e/c");
	CHECK(a.st_ino != 0 && a.st_ino == b.st_ino && a.st_ino == e.st_ino && a.st_nlink == 3);
	CHECK(st_of("host/d/solo").st_nlink == 1);
	CHECK(xattr_is("host/d/solo", "user.color", "blue") &&
	      xattr_is("host/d/solo", "trusted.note", "kept"));
	CHECK(xattr_is("host/e/c", "user.tag", "twin"));
	CHECK(xattr_is("host/d", "user.dir", "new") && xattr_is("host/d", "user.stale", NULL));
	CHECK(xattr_is("host/e", "trusted.overlay.opaque", NULL));
	CHECK(st_of("host/gone").st_ino == 0 && st_of("host/e/old").st_ino == 0);
	CHECK(st_of("up/d").st_ino == 0); /* the upper dir is emptied */
	close(host);
}

static int has_text(const char *rel, const char *want)
{
	char path[512], buf[64];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return want == NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return want && strcmp(buf, want) == 0;
}

static void rm_rel(const char *rel)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	if (remove(path) != 0)
		perror(path);
}

static void mv_rel(const char *from, const char *to)
{
	char a[512], b[512];
	snprintf(a, sizeof a, "%s/%s", root, from);
	snprintf(b, sizeof b, "%s/%s", root, to);
	if (rename(a, b) != 0)
		perror(b);
}

/* A pass after the entries have settled (a change within 20 ms is copied again at the next pass).
 */
static int settled_pass(const struct imgroot *ir)
{
	usleep(50000);
	return livewb_pass(ir);
}

/* Live passes: create, overwrite, delete, whiteout, rename a dir; what another writer put in the
 * host dir stays; the stop's prune removes what a pass wrote and the guest removed since. */
static void test_livewb(void)
{
	if (geteuid() != 0) {
		printf("skip livewb: needs root (whiteouts)\n");
		return;
	}
	put("lv/up/new", "one\n");
	put("lv/up/d/f", "x\n");
	put("lv/host/img", "from the image\n");
	char wh[512];
	snprintf(wh, sizeof wh, "%s/lv/up/img", root);
	if (mknod(wh, S_IFCHR | 0, makedev(0, 0)) != 0)
		perror(wh);
	struct vm_config c;
	memset(&c, 0, sizeof c);
	int up = dir_fd("lv/up"), host = dir_fd("lv/host"), rw = dir_fd("lv");
	struct imgroot ir;
	imgroot_init(&ir);
	CHECK(up >= 0 && host >= 0 && rw >= 0 && writeback_prepare(&ir, up, host, &c) == 0);
	/* The writable drive's root is the upper dir's parent, as on the drive. */
	CHECK(ir.rw_fd >= 0);
	CHECK(settled_pass(&ir) == 0);
	CHECK(has_text("lv/host/new", "one\n") && has_text("lv/host/d/f", "x\n"));
	CHECK(st_of("lv/host/img").st_ino == 0 && st_of("lv/host/" LIVEWB_TMP).st_ino == 0);
	put("lv/host/img", "docker cp after the whiteout\n");
	put("lv/host/cp", "docker cp\n");
	put("lv/host/d/extra", "docker cp into a dir a pass made\n");
	put("lv/up/new", "two, longer\n");
	CHECK(settled_pass(&ir) == 0);
	CHECK(has_text("lv/host/new", "two, longer\n"));
	CHECK(has_text("lv/host/img", "docker cp after the whiteout\n") &&
	      has_text("lv/host/cp", "docker cp\n"));
	rm_rel("lv/up/new");
	mv_rel("lv/up/d", "lv/up/d2");
	CHECK(settled_pass(&ir) == 0);
	CHECK(st_of("lv/host/new").st_ino == 0 && has_text("lv/host/d2/f", "x\n"));
	CHECK(st_of("lv/host/d/f").st_ino == 0 &&
	      has_text("lv/host/d/extra", "docker cp into a dir a pass made\n"));
	CHECK(has_text("lv/host/cp", "docker cp\n"));
	/* The guest makes a dir a pass made again (a new upper inode): the host's stays the pass's.
	 */
	rm_rel("lv/up/d2/f");
	rm_rel("lv/up/d2");
	put("lv/up/d2/g", "g\n");
	CHECK(settled_pass(&ir) == 0);
	CHECK(has_text("lv/host/d2/g", "g\n") && st_of("lv/host/d2/f").st_ino == 0);
	rm_rel("lv/up/d2/g");
	rm_rel("lv/up/d2");
	CHECK(settled_pass(&ir) == 0);
	CHECK(st_of("lv/host/d2").st_ino == 0);
	/* Killed before the next pass: the stop's prune removes what the guest removed since. */
	put("lv/up/p/q", "q\n");
	CHECK(settled_pass(&ir) == 0);
	CHECK(has_text("lv/host/p/q", "q\n"));
	rm_rel("lv/up/p/q");
	rm_rel("lv/up/p");
	CHECK(livewb_prune(up, host, rw) == 0);
	CHECK(st_of("lv/host/p").st_ino == 0 && has_text("lv/host/cp", "docker cp\n"));
	CHECK(livewb_forget(rw) == 0 && st_of("lv/" LIVEWB_RECORD).st_ino == 0);
	close(rw);
	close(host);
}

/* The one error type: the message as given, or with the reason of the errno, cut to fit. */
static void test_agent_err(void)
{
	struct agent_err e = {0};
	CHECK(agent_err_set(&e, EINVAL, "CONFIG: bad record %u", 7u) == -1);
	CHECK(e.errnum == EINVAL && strcmp(e.msg, "CONFIG: bad record 7") == 0);
	CHECK(agent_err_sys(&e, ENOENT, "mount %s", "/dev/vdb") == -1);
	CHECK(e.errnum == ENOENT &&
	      strcmp(e.msg, "mount /dev/vdb: No such file or directory") == 0);
	char longpath[2000];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[sizeof longpath - 1] = 0;
	agent_err_sys(&e, EACCES, "open %s", longpath);
	/* The step is cut, the reason is kept. */
	size_t n = strlen(e.msg);
	CHECK(n < sizeof e.msg && strstr(e.msg, ": Permission denied") == e.msg + n - 19);
	agent_err_set(&e, EIO, "%s", longpath);
	CHECK(strlen(e.msg) == sizeof e.msg - 1);
}

/* The pod's container table is the caller's (struct ctrs), so it can be exercised here: a name
 * already running is refused before any cgroup is touched, and an exit forgets it. */
static void test_container_table(void)
{
/* Exiting removes /sys/fs/cgroup/pod-NAME if it exists: a name no host has. */
#define NAME "runcvm-agent-test-web"
	struct ctrs t = {0};
	struct start_req r = {.container = NAME};
	struct agent_err e = {0};
	container_started(&t, NAME, getpid());
	CHECK(container_pidns(&t, NAME) >= 0 && container_pidns(&t, "runcvm-agent-test-db") < 0);
	CHECK(container_prepare(&t, &r, &e) == -1 && e.errnum == EEXIST &&
	      strcmp(e.msg, "container " NAME " is already running in this pod VM") == 0);
	CHECK(container_exited(&t, NAME) == 0 && t.list == NULL);
	CHECK(container_pidns(&t, NAME) < 0);
	/* UPDATE of a container that is not running touches no cgroup file. */
	struct start_req u = {.update = NAME, .has_memory_max = 1};
	CHECK(container_update(&t, &u, &e) == -1 && e.errnum == ESRCH &&
	      strcmp(e.msg, "container " NAME " is not running in this pod VM") == 0);
#undef NAME
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		CHECK(fputs(text, f) >= 0);
		CHECK(fclose(f) == 0);
	}
}

/* The value of tag in a STATS payload, or -1 when absent (every record is a u64). */
static int64_t stat_of(const uint8_t *p, size_t len, uint16_t tag)
{
	for (size_t off = 0; off + 14 <= len; off += 14) {
		CHECK(p[off + 2] == 8 && p[off + 3] == 0);
		if ((uint16_t)(p[off] | p[off + 1] << 8) != tag)
			continue;
		uint64_t v = 0;
		for (int i = 7; i >= 0; i--)
			v = v << 8 | p[off + 6 + i];
		return (int64_t)v;
	}
	return -1;
}

/* STATS from a cgroup directory laid out as the guest kernel's (the files' real formats). */
static void test_cgstats(void)
{
	uint64_t v = 0;
	CHECK(cgstats_keyed("anon 5\nfile 7\nfile_mapped 9\n", "file", &v) == 1 && v == 7);
	CHECK(cgstats_keyed("file_mapped 9\n", "file", &v) == 0);
	CHECK(cgstats_keyed("file x\n", "file", &v) == 0);
	CHECK(cgstats_keyed("file 99999999999999999999999\n", "file", &v) == 0);
	CHECK(cgstats_keyed("usage_usec 42", "usage_usec", &v) == 1 && v == 42);
	CHECK(cgstats_single("max\n", &v) == 0 && v == UINT64_MAX);
	CHECK(cgstats_single("67108864\n", &v) == 0 && v == 67108864);
	CHECK(cgstats_single("\n", &v) != 0 && cgstats_single("-1\n", &v) != 0);

	char dir[600];
	snprintf(dir, sizeof dir, "%s/cg", root);
	CHECK(mkdir(dir, 0755) == 0);
	uint8_t out[CGSTATS_MAX];
	size_t len = 1;
	/* No memory.current: not a cgroup with the memory controller. */
	CHECK(cgstats_collect(dir, out, &len) == -1 && errno == ENOENT && len == 0);
	put_file(dir, "memory.current", "70254592\n");
	put_file(dir, "memory.max", "max\n");
	put_file(dir, "memory.stat",
		 "anon 67108864\nfile 2097152\nkernel_stack 16384\n"
		 "inactive_anon 0\nactive_anon 67108864\ninactive_file 1048576\n"
		 "active_file 1048576\npgfault 17000\npgmajfault 3\n");
	put_file(dir, "cpu.stat",
		 "usage_usec 850000\nuser_usec 800000\nsystem_usec 50000\n"
		 "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
	put_file(dir, "pids.current", "3\n");
	put_file(dir, "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
	CHECK(cgstats_collect(dir, out, &len) == 0 && len % 14 == 0);
	CHECK(stat_of(out, len, STAT_MEMORY_USAGE) == 70254592);
	CHECK((uint64_t)stat_of(out, len, STAT_MEMORY_LIMIT) == UINT64_MAX);
	CHECK(stat_of(out, len, STAT_ANON) == 67108864 && stat_of(out, len, STAT_FILE) == 2097152);
	CHECK(stat_of(out, len, STAT_INACTIVE_FILE) == 1048576);
	CHECK(stat_of(out, len, STAT_PGMAJFAULT) == 3);
	CHECK(stat_of(out, len, STAT_CPU_USAGE_USEC) == 850000 &&
	      stat_of(out, len, STAT_CPU_SYSTEM_USEC) == 50000);
	CHECK(stat_of(out, len, STAT_PIDS_CURRENT) == 3 && stat_of(out, len, STAT_OOM_KILL) == 1);
	/* Files this cgroup lacks (pids.max, swap) are left out, not zero. */
	CHECK(stat_of(out, len, STAT_PIDS_LIMIT) == -1 && stat_of(out, len, STAT_SWAP_USAGE) == -1);
	/* A symlinked cgroup directory is not followed. */
	char link[640];
	snprintf(link, sizeof link, "%s/cg-link", root);
	CHECK(symlink(dir, link) == 0);
	CHECK(cgstats_collect(link, out, &len) == -1);
	/* A garbled memory.current is refused rather than reported. */
	put_file(dir, "memory.current", "lots\n");
	CHECK(cgstats_collect(dir, out, &len) == -1 && errno == EPROTO);
	/* STATS of a container that is not running reads no cgroup. */
	struct ctrs t = {0};
	struct agent_err e = {0};
	CHECK(container_stats(&t, "runcvm-agent-test-none", out, &len, &e) == -1 &&
	      e.errnum == ESRCH);
}

/* The PORT relay: the client's bytes reach the server, then its EOF; the server's answer reaches
 * the client and the server's EOF ends the stream. */
static void test_portfwd_relay(void)
{
	int in[2], out[2], sv[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(write(in[1], "request", 7) == 7 && close(in[1]) == 0);
	CHECK(write(sv[1], "answer", 6) == 6 && shutdown(sv[1], SHUT_WR) == 0);
	CHECK(portfwd_relay(in[0], out[1], sv[0]) == 0);
	close(out[1]);
	char buf[32] = "";
	CHECK(read(out[0], buf, sizeof buf) == 6 && memcmp(buf, "answer", 6) == 0);
	CHECK(read(out[0], buf, sizeof buf) == 0);
	/* What the client sent before the server ended got through, and its EOF too. */
	ssize_t n = read(sv[1], buf, sizeof buf);
	CHECK(n == 7 && memcmp(buf, "request", 7) == 0);
	CHECK(read(sv[1], buf, sizeof buf) == 0);
	close(in[0]);
	close(out[0]);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 2;
	}
	test_agent_err();
	test_container_table();
	test_transport_choice();
	test_drive_order();
	test_config_drive_order();
	test_config_sysctl();
	test_vsock_listen();
	test_meminfo();
	test_writeback();
	test_livewb();
	test_portfwd_relay();
	test_cgstats();
	parse_tests();
	flow_tests();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	printf("%s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
