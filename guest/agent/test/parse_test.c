/* The CONFIG and START decoders (config.c) on well-formed and malformed payloads: every field
 * lands where the agent reads it, and a record the host could not have meant is refused with a
 * message naming its tag, never half-applied. */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include "../config.h"
#include "../proto.h"
#include "check.h"

/* Record tags as the host writes them (src/agent-protocol/messages.ts). */
enum {
	HOSTNAME = 1,
	ROOT_TAG = 2,
	ROOT_READONLY = 3,
	BIND = 4,
	TMPFS = 5,
	DEBUG = 6,
	NIC = 7,
	DISK = 10,
	ROOT_LOWER = 12,
	ROOT_UPPER = 13,
	ROOT_HOST_9P = 14,
	VOLUME_LINK = 15,
	VOLUME_9P = 16,
	WRITEBACK_ONLY = 23,
};
enum {
	ARG = 1,
	ENV = 2,
	CWD = 3,
	UID = 4,
	GID = 5,
	GROUP = 6,
	TERMINAL = 7,
	ROWS_COLS = 8,
	DEBUG_NS = 9,
	TOOL = 10
};
/* Pod-VM containers (protocol 3); HOSTNAME is taken by CONFIG's enum above. */
enum { CONTAINER = 11, CTR_HOSTNAME = 12, MEMORY_MAX = 13, JOIN = 14, SHARE_PID = 15 };
/* A PortForward stream (START PORT). */
enum { PORT = 16, CPU_MAX = 17, CPU_WEIGHT = 18, UPDATE = 19, STATS = 20 };

/* u32 flags followed by n bytes of text (NULs included). */
static void tlv_add_flagged(struct tlv_buf *b, uint16_t tag, uint32_t flags, const char *s,
			    size_t n)
{
	uint8_t v[512];
	put_u32(v, flags);
	memcpy(v + 4, s, n);
	tlv_add(b, tag, v, (uint32_t)(4 + n));
}

static int parse_config(const struct tlv_buf *b, struct vm_config *c, struct agent_err *err)
{
	return config_parse(b->data, b->len, c, err);
}

static void test_config_fields(void)
{
	struct tlv_buf b = {0};
	uint8_t one = 1;
	tlv_add_str(&b, HOSTNAME, "web");
	tlv_add_str(&b, ROOT_TAG, "rootfs");
	tlv_add(&b, ROOT_READONLY, &one, 1);
	tlv_add(&b, DEBUG, &one, 1);
	tlv_add_flagged(&b, BIND, MS_RDONLY, "/data", 5);
	tlv_add_flagged(&b, TMPFS, MS_NOSUID | MS_NODEV, "/run\0size=65536k", 16);
	tlv_add_flagged(&b, VOLUME_9P, 0, "/vol\0trans=tcp,port=564\0one.conf", 32);
	tlv_add_flagged(&b, DISK, 0, "disk0\0/mnt/d\0ext4", 17);
	tlv_add_str(&b, 999, "a tag from a newer host is skipped");
	struct vm_config c;
	struct agent_err err = {0};
	CHECK(parse_config(&b, &c, &err) == 0);
	CHECK(c.hostname && strcmp(c.hostname, "web") == 0);
	CHECK(c.root_tag && strcmp(c.root_tag, "rootfs") == 0);
	CHECK(c.root_readonly == 1 && c.debug == 1 && c.writeback_only == 0);
	CHECK(c.nmounts == 3);
	if (c.nmounts == 3) {
		CHECK(!c.mounts[0].tmpfs && !c.mounts[0].ninep && c.mounts[0].flags == MS_RDONLY);
		CHECK(strcmp(c.mounts[0].dest, "/data") == 0 && c.mounts[0].data == NULL);
		CHECK(c.mounts[1].tmpfs && strcmp(c.mounts[1].dest, "/run") == 0);
		CHECK(c.mounts[1].data && strcmp(c.mounts[1].data, "size=65536k") == 0);
		CHECK(c.mounts[1].flags == (MS_NOSUID | MS_NODEV));
		CHECK(c.mounts[2].ninep && strcmp(c.mounts[2].dest, "/vol") == 0);
		CHECK(strcmp(c.mounts[2].data, "trans=tcp,port=564") == 0 &&
		      strcmp(c.mounts[2].file, "one.conf") == 0);
	}
	CHECK(c.ndisks == 1 && strcmp(c.disks[0].serial, "disk0") == 0 &&
	      strcmp(c.disks[0].dest, "/mnt/d") == 0 && strcmp(c.disks[0].fstype, "ext4") == 0);
	config_free(&c);
	CHECK(c.nmounts == 0 && c.mounts == NULL && c.hostname == NULL);
}

static void test_config_image_root(void)
{
	struct tlv_buf b = {0};
	uint8_t one = 1;
	tlv_add_str(&b, ROOT_LOWER, "layer-top");
	tlv_add_str(&b, ROOT_LOWER, "layer-base");
	tlv_add_str(&b, ROOT_UPPER, "upper");
	tlv_add_str(&b, ROOT_HOST_9P, "trans=tcp,port=564,aname=/");
	tlv_add(&b, WRITEBACK_ONLY, &one, 1);
	struct vm_config c;
	struct agent_err err = {0};
	CHECK(parse_config(&b, &c, &err) == 0);
	CHECK(c.nlowers == 2 && strcmp(c.root_lowers[0], "layer-top") == 0 &&
	      strcmp(c.root_lowers[1], "layer-base") == 0);
	CHECK(c.root_upper && strcmp(c.root_upper, "upper") == 0);
	CHECK(c.root_host_9p && strcmp(c.root_host_9p, "trans=tcp,port=564,aname=/") == 0);
	CHECK(c.writeback_only == 1 && c.root_tag == NULL);
	config_free(&c);

	/* Lower drives need the writable one on top. */
	struct tlv_buf no_upper = {0};
	tlv_add_str(&no_upper, ROOT_LOWER, "layer-top");
	CHECK(parse_config(&no_upper, &c, &err) != 0 && strstr(err.msg, "ROOT_UPPER") != NULL);
	config_free(&c);
}

/* One malformed record in an otherwise good payload: refused, its tag in the message. */
static void expect_refused(const char *name, uint16_t tag, const void *value, uint32_t n)
{
	struct tlv_buf b = {0};
	tlv_add_str(&b, ROOT_TAG, "rootfs");
	tlv_add(&b, tag, value, n);
	struct vm_config c;
	struct agent_err err = {0};
	char want[32];
	int r = parse_config(&b, &c, &err);
	snprintf(want, sizeof want, "tag %u ", tag);
	if (r == 0 || strstr(err.msg, want) == NULL || err.errnum != EINVAL) {
		fprintf(stderr, "config record %s: want refusal naming \"%s\", got %d \"%s\"\n",
			name, want, r, err.msg);
		failures++;
	}
	config_free(&c);
}

static void test_config_refusals(void)
{
	uint8_t two[2] = {1, 1};
	expect_refused("ROOT_READONLY of 2 bytes", ROOT_READONLY, two, 2);
	expect_refused("DEBUG of 0 bytes", DEBUG, two, 0);
	expect_refused("WRITEBACK_ONLY of 2 bytes", WRITEBACK_ONLY, two, 2);
	expect_refused("BIND shorter than its flags", BIND, "\0\0\0", 3);
	expect_refused("BIND to a relative path", BIND, "\0\0\0\0data", 8);
	expect_refused("TMPFS to a relative path", TMPFS, "\0\0\0\0run\0size=1k", 14);
	expect_refused("VOLUME_9P without options", VOLUME_9P, "\0\0\0\0/vol\0\0x", 11);
	expect_refused("VOLUME_9P with a file name holding a slash", VOLUME_9P,
		       "\0\0\0\0/vol\0o\0a/b", 14);
	expect_refused("VOLUME_9P missing its separators", VOLUME_9P, "\0\0\0\0/vol", 8);
	expect_refused("DISK without a serial", DISK, "\0\0\0\0\0/mnt\0ext4", 15);
	expect_refused("DISK without an fstype", DISK, "\0\0\0\0d\0/mnt\0", 12);
	expect_refused("empty ROOT_LOWER", ROOT_LOWER, "", 0);
	expect_refused("empty ROOT_UPPER", ROOT_UPPER, "", 0);
	expect_refused("VOLUME_LINK too short", VOLUME_LINK, "0123456789abcdefgh", 18);
	uint8_t link[24] = {0};
	link[8] = 33; /* prefix > 32 */
	memcpy(link + 18, "eth1", 4);
	expect_refused("VOLUME_LINK with a /33 prefix", VOLUME_LINK, link, 22);
	expect_refused("NIC too short", NIC, "abc", 3);
}

static void test_config_truncated(void)
{
	struct tlv_buf b = {0};
	tlv_add_str(&b, ROOT_TAG, "rootfs");
	struct vm_config c;
	struct agent_err err = {0};
	/* The record's length runs past the payload, or its header is cut. */
	for (size_t cut = 1; cut < b.len; cut++) {
		err.msg[0] = 0;
		int r = config_parse(b.data, cut, &c, &err);
		if (r == 0 || strstr(err.msg, "truncated") == NULL) {
			fprintf(stderr,
				"config cut at %zu of %zu bytes: want \"truncated\", got %d "
				"\"%s\"\n",
				cut, b.len, r, err.msg);
			failures++;
		}
		config_free(&c);
	}
	CHECK(config_parse(b.data, 0, &c, &err) != 0 && strstr(err.msg, "no ROOT_TAG") != NULL);
	config_free(&c);
}

static void test_start(void)
{
	struct tlv_buf b = {0};
	uint8_t id[4], rc[4];
	tlv_add_str(&b, ARG, "/bin/sh");
	tlv_add_str(&b, ARG, "-c");
	tlv_add_str(&b, ARG, "echo hi");
	tlv_add_str(&b, ENV, "PATH=/bin");
	tlv_add_str(&b, CWD, "/srv");
	put_u32(id, 1000);
	tlv_add(&b, UID, id, 4);
	put_u32(id, 100);
	tlv_add(&b, GID, id, 4);
	put_u32(id, 10);
	tlv_add(&b, GROUP, id, 4);
	put_u32(id, 20);
	tlv_add(&b, GROUP, id, 4);
	uint8_t one = 1;
	tlv_add(&b, TERMINAL, &one, 1);
	rc[0] = 24, rc[1] = 0, rc[2] = 80, rc[3] = 0;
	tlv_add(&b, ROWS_COLS, rc, 4);
	struct start_req s;
	struct agent_err err = {0};
	CHECK(start_parse(b.data, b.len, &s, &err) == 0);
	CHECK(s.argc == 3 && strcmp(s.argv[2], "echo hi") == 0 && s.argv[3] == NULL);
	CHECK(s.envc == 1 && strcmp(s.envp[0], "PATH=/bin") == 0 && s.envp[1] == NULL);
	CHECK(strcmp(s.cwd, "/srv") == 0 && s.uid == 1000 && s.gid == 100);
	CHECK(s.ngroups == 2 && s.groups[0] == 10 && s.groups[1] == 20);
	CHECK(s.terminal == 1 && s.rows == 24 && s.cols == 80);
	start_free(&s);

	/* The defaults execve needs: an empty but non-NULL environment, "/" as the directory. */
	struct tlv_buf bare = {0};
	tlv_add_str(&bare, ARG, "true");
	CHECK(start_parse(bare.data, bare.len, &s, &err) == 0);
	CHECK(s.envc == 0 && s.envp && s.envp[0] == NULL && strcmp(s.cwd, "/") == 0 && s.uid == 0);
	start_free(&s);

	struct tlv_buf none = {0};
	tlv_add_str(&none, ENV, "A=1");
	CHECK(start_parse(none.data, none.len, &s, &err) != 0 &&
	      strstr(err.msg, "no ARG") != NULL && err.errnum == EINVAL);
	start_free(&s);
	struct tlv_buf empty_arg = {0};
	tlv_add_str(&empty_arg, ARG, "");
	CHECK(start_parse(empty_arg.data, empty_arg.len, &s, &err) != 0);
	start_free(&s);
	struct tlv_buf bad_uid = {0};
	tlv_add_str(&bad_uid, ARG, "true");
	tlv_add(&bad_uid, UID, "\1\0", 2);
	CHECK(start_parse(bad_uid.data, bad_uid.len, &s, &err) != 0 &&
	      strstr(err.msg, "tag 4 ") != NULL);
	start_free(&s);
	struct tlv_buf bad_size = {0};
	tlv_add_str(&bad_size, ARG, "true");
	tlv_add(&bad_size, ROWS_COLS, "\1\0\1", 3);
	CHECK(start_parse(bad_size.data, bad_size.len, &s, &err) != 0 &&
	      strstr(err.msg, "tag 8 ") != NULL);
	start_free(&s);

	/* runcvm debug: the agent's namespaces, and a program sent on stdin (at most TOOL_MAX). */
	struct tlv_buf dbg = {0};
	tlv_add_str(&dbg, ARG, "sh");
	uint8_t on = 1, size[4];
	tlv_add(&dbg, DEBUG_NS, &on, 1);
	put_u32(size, 2000000);
	tlv_add(&dbg, TOOL, size, 4);
	CHECK(start_parse(dbg.data, dbg.len, &s, &err) == 0);
	CHECK(s.debug == 1 && s.tool_size == 2000000);
	start_free(&s);
	CHECK(start_parse(bare.data, bare.len, &s, &err) == 0);
	CHECK(s.debug == 0 && s.tool_size == 0);
	start_free(&s);
	struct tlv_buf big = {0};
	tlv_add_str(&big, ARG, "sh");
	put_u32(size, TOOL_MAX + 1);
	tlv_add(&big, TOOL, size, 4);
	CHECK(start_parse(big.data, big.len, &s, &err) != 0 && strstr(err.msg, "tag 10 ") != NULL);
	start_free(&s);
}

static void test_start_container(void)
{
	struct tlv_buf b = {0};
	tlv_add_str(&b, ARG, "httpd");
	tlv_add_str(&b, CONTAINER, "abc_1.2-x");
	tlv_add_str(&b, CTR_HOSTNAME, "web");
	uint8_t mem[8] = {0, 0, 0, 4, 1, 0, 0, 0}; /* 0x1_0400_0000 */
	tlv_add(&b, MEMORY_MAX, mem, 8);
	tlv_add(&b, SHARE_PID, "\1", 1);
	struct start_req s;
	struct agent_err err = {0};
	CHECK(start_parse(b.data, b.len, &s, &err) == 0);
	CHECK(strcmp(s.container, "abc_1.2-x") == 0 && strcmp(s.hostname, "web") == 0);
	CHECK(s.memory_max == 0x104000000ULL && s.share_pid == 1 && s.join == NULL);
	start_free(&s);

	struct tlv_buf j = {0};
	tlv_add_str(&j, ARG, "sh");
	tlv_add_str(&j, JOIN, "abc");
	CHECK(start_parse(j.data, j.len, &s, &err) == 0 && strcmp(s.join, "abc") == 0);
	start_free(&s);

	/* A name is one path component of the pod share: no slash, no dot-dot, not empty. */
	const char *bad[] = {"../x", "a/b", "..", ".", "", "a b"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tlv_buf n = {0};
		tlv_add_str(&n, ARG, "sh");
		tlv_add_str(&n, CONTAINER, bad[i]);
		CHECK(start_parse(n.data, n.len, &s, &err) != 0 &&
		      strstr(err.msg, "container name") != NULL);
		start_free(&s);
	}
	struct tlv_buf both = {0};
	tlv_add_str(&both, ARG, "sh");
	tlv_add_str(&both, CONTAINER, "a");
	tlv_add_str(&both, JOIN, "a");
	CHECK(start_parse(both.data, both.len, &s, &err) != 0 &&
	      strstr(err.msg, "two of CONTAINER, JOIN, UPDATE and STATS") != NULL);
	start_free(&s);
	struct tlv_buf cpu = {0};
	tlv_add_str(&cpu, ARG, "sh");
	tlv_add_str(&cpu, CONTAINER, "a");
	uint8_t cm[16] = {0x50, 0xc3, 0, 0, 0, 0, 0, 0, 0xa0, 0x86, 0x01, 0, 0, 0, 0, 0};
	tlv_add(&cpu, CPU_MAX, cm, 16); /* 50000 us per 100000 us */
	CHECK(start_parse(cpu.data, cpu.len, &s, &err) == 0 && s.cpu_quota == 50000 &&
	      s.cpu_period == 100000);
	start_free(&s);
	struct tlv_buf cpu_bad = {0};
	tlv_add_str(&cpu_bad, ARG, "sh");
	uint8_t cb[16] = {0x10, 0, 0, 0, 0, 0, 0, 0, 0xa0, 0x86, 0x01, 0, 0, 0, 0, 0};
	tlv_add(&cpu_bad, CPU_MAX, cb, 16); /* a 16 us quota: below the kernel's 1 ms */
	CHECK(start_parse(cpu_bad.data, cpu_bad.len, &s, &err) != 0);
	start_free(&s);
	struct tlv_buf short_mem = {0};
	tlv_add_str(&short_mem, ARG, "sh");
	tlv_add(&short_mem, MEMORY_MAX, "\1\0\0\0", 4);
	CHECK(start_parse(short_mem.data, short_mem.len, &s, &err) != 0);
	start_free(&s);
}

/* UPDATE (runc update of a pod-VM container): only the limits sent, 0 = none; CPU_WEIGHT in
 * cgroup v2's range; no terminal, and not with CONTAINER. */
static void test_start_update(void)
{
	struct start_req s;
	struct agent_err err = {0};
	struct tlv_buf b = {0};
	tlv_add_str(&b, ARG, "update");
	tlv_add_str(&b, UPDATE, "web");
	uint8_t zero[8] = {0};
	tlv_add(&b, MEMORY_MAX, zero, 8);
	uint8_t cm[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xa0, 0x86, 0x01, 0, 0, 0, 0, 0};
	tlv_add(&b, CPU_MAX, cm, 16); /* quota 0: no limit ("max 100000") */
	uint8_t w[4] = {39, 0, 0, 0};
	tlv_add(&b, CPU_WEIGHT, w, 4);
	CHECK(start_parse(b.data, b.len, &s, &err) == 0 && strcmp(s.update, "web") == 0);
	CHECK(s.has_memory_max && s.memory_max == 0 && s.has_cpu_max && s.cpu_quota == 0 &&
	      s.cpu_period == 100000 && s.cpu_weight == 39);
	start_free(&s);

	struct tlv_buf none = {0};
	tlv_add_str(&none, ARG, "update");
	tlv_add_str(&none, UPDATE, "web");
	CHECK(start_parse(none.data, none.len, &s, &err) == 0 && !s.has_memory_max &&
	      !s.has_cpu_max && s.cpu_weight == 0);
	start_free(&s);

	uint8_t bad_w[][4] = {{0, 0, 0, 0}, {0x11, 0x27, 0, 0}}; /* 0 and 10001 */
	for (size_t i = 0; i < 2; i++) {
		struct tlv_buf n = {0};
		tlv_add_str(&n, ARG, "sh");
		tlv_add_str(&n, CONTAINER, "a");
		tlv_add(&n, CPU_WEIGHT, bad_w[i], 4);
		CHECK(start_parse(n.data, n.len, &s, &err) != 0 &&
		      strstr(err.msg, "tag 18 ") != NULL);
		start_free(&s);
	}
	struct tlv_buf both = {0};
	tlv_add_str(&both, ARG, "update");
	tlv_add_str(&both, UPDATE, "a");
	tlv_add_str(&both, CONTAINER, "a");
	CHECK(start_parse(both.data, both.len, &s, &err) != 0 &&
	      strstr(err.msg, "two of CONTAINER, JOIN, UPDATE and STATS") != NULL);
	start_free(&s);
	struct tlv_buf tty = {0};
	tlv_add_str(&tty, ARG, "update");
	tlv_add_str(&tty, UPDATE, "a");
	tlv_add(&tty, TERMINAL, "\1", 1);
	CHECK(start_parse(tty.data, tty.len, &s, &err) != 0 &&
	      strstr(err.msg, "UPDATE with") != NULL);
	start_free(&s);
	struct tlv_buf badname = {0};
	tlv_add_str(&badname, ARG, "update");
	tlv_add_str(&badname, UPDATE, "../x");
	CHECK(start_parse(badname.data, badname.len, &s, &err) != 0 &&
	      strstr(err.msg, "container name") != NULL);
	start_free(&s);
}

/* STATS (containerd's Task.Stats of a pod-VM container): a container name, no process, alone. */
static void test_start_stats(void)
{
	struct start_req s;
	struct agent_err err = {0};
	struct tlv_buf b = {0};
	tlv_add_str(&b, ARG, "stats");
	tlv_add_str(&b, STATS, "web");
	CHECK(start_parse(b.data, b.len, &s, &err) == 0 && strcmp(s.stats, "web") == 0 &&
	      !s.update && !s.container && !s.join);
	start_free(&s);
	struct tlv_buf both = {0};
	tlv_add_str(&both, ARG, "stats");
	tlv_add_str(&both, STATS, "a");
	tlv_add_str(&both, UPDATE, "a");
	CHECK(start_parse(both.data, both.len, &s, &err) != 0 &&
	      strstr(err.msg, "two of CONTAINER, JOIN, UPDATE and STATS") != NULL);
	start_free(&s);
	struct tlv_buf port = {0};
	tlv_add_str(&port, ARG, "stats");
	tlv_add_str(&port, STATS, "a");
	tlv_add(&port, PORT, "\x50\0", 2);
	CHECK(start_parse(port.data, port.len, &s, &err) != 0 &&
	      strstr(err.msg, "STATS with") != NULL);
	start_free(&s);
	struct tlv_buf badname = {0};
	tlv_add_str(&badname, ARG, "stats");
	tlv_add_str(&badname, STATS, "..");
	CHECK(start_parse(badname.data, badname.len, &s, &err) != 0 &&
	      strstr(err.msg, "container name") != NULL);
	start_free(&s);
}

/* A pod container's HOSTNAME is at most 64 bytes (the kernel's limit), refused with EINVAL. */
static void test_start_hostname(void)
{
	char name[66];
	memset(name, 'h', sizeof name - 1);
	name[sizeof name - 1] = 0;
	struct tlv_buf b = {0};
	tlv_add_str(&b, ARG, "sh");
	tlv_add_str(&b, CONTAINER, "c");
	tlv_add_str(&b, CTR_HOSTNAME, name);
	struct start_req s;
	struct agent_err err = {0};
	CHECK(start_parse(b.data, b.len, &s, &err) != 0 && err.errnum == EINVAL &&
	      strcmp(err.msg, "start: HOSTNAME longer than 64 bytes") == 0);
	start_free(&s);
	name[64] = 0;
	struct tlv_buf ok = {0};
	tlv_add_str(&ok, ARG, "sh");
	tlv_add_str(&ok, CONTAINER, "c");
	tlv_add_str(&ok, CTR_HOSTNAME, name);
	CHECK(start_parse(ok.data, ok.len, &s, &err) == 0 && strlen(s.hostname) == 64);
	start_free(&s);
}

/* PORT is a u16 other than 0, and a stream, never a container, exec into one, debug or tty. */
static void test_start_port(void)
{
	struct start_req s;
	struct agent_err err = {0};
	struct tlv_buf b = {0};
	tlv_add_str(&b, ARG, "port-forward");
	tlv_add(&b, PORT, "\x90\x1f", 2); /* 8080 */
	CHECK(start_parse(b.data, b.len, &s, &err) == 0 && s.port == 8080);
	start_free(&s);
	const char *other[] = {"container", "join", "terminal"};
	for (size_t i = 0; i < 3; i++) {
		struct tlv_buf n = {0};
		tlv_add_str(&n, ARG, "port-forward");
		tlv_add(&n, PORT, "\x90\x1f", 2);
		if (i == 0)
			tlv_add_str(&n, CONTAINER, "a");
		else if (i == 1)
			tlv_add_str(&n, JOIN, "a");
		else
			tlv_add(&n, TERMINAL, "\1", 1);
		CHECK(start_parse(n.data, n.len, &s, &err) != 0 &&
		      strstr(err.msg, "PORT with") != NULL);
		if (strstr(err.msg, "PORT with") == NULL)
			fprintf(stderr, "PORT with %s: %s\n", other[i], err.msg);
		start_free(&s);
	}
	struct tlv_buf zero = {0}, wide = {0};
	tlv_add_str(&zero, ARG, "port-forward");
	tlv_add(&zero, PORT, "\0\0", 2);
	CHECK(start_parse(zero.data, zero.len, &s, &err) != 0);
	start_free(&s);
	tlv_add_str(&wide, ARG, "port-forward");
	tlv_add(&wide, PORT, "\x90\x1f\0\0", 4);
	CHECK(start_parse(wide.data, wide.len, &s, &err) != 0);
	start_free(&s);
}

void parse_tests(void)
{
	test_start_stats();
	test_start_port();
	test_config_fields();
	test_config_image_root();
	test_config_refusals();
	test_config_truncated();
	test_start();
	test_start_container();
	test_start_update();
	test_start_hostname();
}
