/* Host tests of the shim's pure parts: protobuf, ttrpc frames, the StatsResponse it builds
 * from a STATS payload (decoded back field by field), its marker reader. */
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent-protocol/wire.h"
#include "../cgroup-driver.h"
#include "../create.h"
#include "../marker.h"
#include "../pb.h"
#include "../stats.h"
#include "../ttrpc.h"

static int failures;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* A ttrpc request frame encoded as containerd 1.6's ttrpc client encodes it for
 * Task.Stats{id: "web-1"} on stream 3 (timeout_nano 0 is omitted, no metadata). */
static const uint8_t STATS_FRAME[] = {
	0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x03, 0x01, 0x00, /* len 41, stream 3, request */
	0x0a, 0x17, 'c',  'o',	'n',  't',  'a',  'i',	'n',  'e',  'r', 'd',  '.',  't',
	'a',  's',  'k',  '.',	'v',  '2',  '.',  'T',	'a',  's',  'k', 0x12, 0x05, 'S',
	't',  'a',  't',  's',	0x1a, 0x07, 0x0a, 0x05, 'w',  'e',  'b', '-',  '1',
};

static void test_pb(void)
{
	uint8_t b[64];
	struct pb_out o = {.p = b, .cap = sizeof b};
	pb_u64(&o, 1, 300);
	pb_u64(&o, 33, UINT64_MAX);
	pb_str(&o, 2, "hi");
	CHECK(!o.err);
	/* 300 = ac 02; field 33 needs a two-byte key (0x88 0x02). */
	CHECK(b[0] == 0x08 && b[1] == 0xac && b[2] == 0x02 && b[3] == 0x88 && b[4] == 0x02);
	struct pb_in in = {.p = b, .len = o.len};
	struct pb_field f;
	CHECK(pb_next(&in, &f) == 1 && f.num == 1 && f.type == PB_VARINT && f.v == 300);
	CHECK(pb_next(&in, &f) == 1 && f.num == 33 && f.v == UINT64_MAX);
	CHECK(pb_next(&in, &f) == 1 && f.num == 2 && f.type == PB_LEN && f.n == 2 &&
	      memcmp(f.b, "hi", 2) == 0);
	CHECK(pb_next(&in, &f) == 0);
	/* Truncated length, a varint running off the end, an eleven-byte varint, field 0. */
	const uint8_t bad1[] = {0x12, 0x05, 'a'};
	const uint8_t bad2[] = {0x08, 0x80};
	const uint8_t bad3[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	const uint8_t bad4[] = {0x00, 0x01};
	const uint8_t bad5[] = {0x0b}; /* a group */
	const uint8_t *bads[] = {bad1, bad2, bad3, bad4, bad5};
	size_t lens[] = {sizeof bad1, sizeof bad2, sizeof bad3, sizeof bad4, sizeof bad5};
	for (int i = 0; i < 5; i++) {
		struct pb_in x = {.p = bads[i], .len = lens[i]};
		CHECK(pb_next(&x, &f) == -1);
	}
	/* A write that does not fit sets err and never overruns. */
	uint8_t small[4];
	struct pb_out s = {.p = small, .cap = sizeof small};
	pb_str(&s, 1, "too long");
	CHECK(s.err);
}

static void test_ttrpc(void)
{
	struct ttrpc_hdr h;
	ttrpc_hdr_read(STATS_FRAME, &h);
	CHECK(h.len == sizeof STATS_FRAME - TTRPC_HDR && h.stream == 3 && h.type == TTRPC_REQUEST);
	struct ttrpc_req r;
	CHECK(ttrpc_req_read(STATS_FRAME + TTRPC_HDR, h.len, &r) == 0);
	CHECK(ttrpc_req_is(&r, TASK_SERVICE, "Stats") && !ttrpc_req_is(&r, TASK_SERVICE, "State"));
	char id[130];
	CHECK(task_request_id(r.payload, r.payload_len, id, sizeof id) == 0 &&
	      strcmp(id, "web-1") == 0);
	/* Ids the runtime would never have made are refused, not looked up. */
	const uint8_t dots[] = {0x0a, 0x02, '.', '.'};
	const uint8_t slash[] = {0x0a, 0x03, 'a', '/', 'b'};
	const uint8_t none[] = {0x10, 0x01};
	CHECK(task_request_id(dots, sizeof dots, id, sizeof id) != 0);
	CHECK(task_request_id(slash, sizeof slash, id, sizeof id) != 0);
	CHECK(task_request_id(none, sizeof none, id, sizeof id) != 0);
	/* The header round trip, and a response frame: Response{payload = 2}. */
	uint8_t hb[TTRPC_HDR];
	ttrpc_hdr_write(hb, &h);
	CHECK(memcmp(hb, STATS_FRAME, TTRPC_HDR) == 0);
	uint8_t out[256];
	size_t n = ttrpc_response(out, sizeof out, 7, (const uint8_t *)"xyz", 3);
	CHECK(n == TTRPC_HDR + 5);
	ttrpc_hdr_read(out, &h);
	CHECK(h.len == 5 && h.stream == 7 && h.type == TTRPC_RESPONSE && h.flags == 0);
	CHECK(out[10] == 0x12 && out[11] == 3 && memcmp(out + 12, "xyz", 3) == 0);
	/* An error: Response{status = 1 {code = 1, message = 2}}. */
	n = ttrpc_error(out, sizeof out, 9, CODE_UNAVAILABLE, "gone");
	CHECK(n > TTRPC_HDR);
	struct pb_in in = {.p = out + TTRPC_HDR, .len = n - TTRPC_HDR};
	struct pb_field f;
	CHECK(pb_next(&in, &f) == 1 && f.num == 1 && f.type == PB_LEN);
	struct pb_in st = {.p = f.b, .len = f.n};
	CHECK(pb_next(&st, &f) == 1 && f.num == 1 && f.v == CODE_UNAVAILABLE);
	CHECK(pb_next(&st, &f) == 1 && f.num == 2 && f.n == 4 && memcmp(f.b, "gone", 4) == 0);
	CHECK(ttrpc_response(out, 5, 1, NULL, 0) == 0);
}

static size_t rec(uint8_t *p, uint16_t tag, uint64_t v)
{
	p[0] = (uint8_t)tag;
	p[1] = (uint8_t)(tag >> 8);
	p[2] = 8;
	p[3] = p[4] = p[5] = 0;
	for (int i = 0; i < 8; i++)
		p[6 + i] = (uint8_t)(v >> (8 * i));
	return 14;
}

/* field num of message m (LEN or VARINT), or -1. */
static int find(const uint8_t *m, size_t n, uint32_t num, struct pb_field *out)
{
	struct pb_in in = {.p = m, .len = n};
	struct pb_field f;
	while (pb_next(&in, &f) == 1)
		if (f.num == num) {
			*out = f;
			return 0;
		}
	return -1;
}

static void test_stats_response(void)
{
	uint8_t tlv[512];
	size_t n = 0;
	n += rec(tlv + n, STAT_MEMORY_USAGE, 70254592);
	n += rec(tlv + n, STAT_INACTIVE_FILE, 1048576);
	n += rec(tlv + n, STAT_MEMORY_LIMIT, UINT64_MAX);
	n += rec(tlv + n, STAT_CPU_USAGE_USEC, 850000);
	n += rec(tlv + n, STAT_PIDS_CURRENT, 3);
	n += rec(tlv + n, STAT_OOM_KILL, 1);
	/* A record of a newer agent (tag 999, 3 bytes) is skipped. */
	const uint8_t future[] = {0xe7, 0x03, 3, 0, 0, 0, 1, 2, 3};
	memcpy(tlv + n, future, sizeof future);
	n += sizeof future;
	uint8_t out[4096];
	size_t len = stats_response(tlv, n, out, sizeof out);
	CHECK(len > 0);
	/* StatsResponse{stats = 1: Any{type_url = 1, value = 2: Metrics}}. */
	struct pb_field any, url, val, sub, f;
	CHECK(find(out, len, 1, &any) == 0);
	CHECK(find(any.b, any.n, 1, &url) == 0 && url.n == strlen(METRICS_V2_URL) &&
	      memcmp(url.b, METRICS_V2_URL, url.n) == 0);
	CHECK(find(any.b, any.n, 2, &val) == 0);
	CHECK(find(val.b, val.n, 4, &sub) == 0); /* memory */
	CHECK(find(sub.b, sub.n, 32, &f) == 0 && f.v == 70254592);
	CHECK(find(sub.b, sub.n, 13, &f) == 0 && f.v == 1048576);
	CHECK(find(sub.b, sub.n, 33, &f) == 0 && f.v == UINT64_MAX);
	CHECK(find(val.b, val.n, 2, &sub) == 0); /* cpu */
	CHECK(find(sub.b, sub.n, 1, &f) == 0 && f.v == 850000);
	CHECK(find(val.b, val.n, 1, &sub) == 0); /* pids */
	CHECK(find(sub.b, sub.n, 1, &f) == 0 && f.v == 3);
	CHECK(find(val.b, val.n, 8, &sub) == 0); /* memory_events */
	CHECK(find(sub.b, sub.n, 5, &f) == 0 && f.v == 1);
	/* Without memory usage, a known record that is not a u64, a truncated record: refused. */
	uint8_t cpu_only[14];
	rec(cpu_only, STAT_CPU_USAGE_USEC, 1);
	CHECK(stats_response(cpu_only, sizeof cpu_only, out, sizeof out) == 0);
	uint8_t short_rec[] = {STAT_MEMORY_USAGE, 0, 4, 0, 0, 0, 1, 2, 3, 4};
	CHECK(stats_response(short_rec, sizeof short_rec, out, sizeof out) == 0);
	CHECK(stats_response(tlv, n - 1, out, sizeof out) == 0);
	CHECK(stats_response(tlv, n, out, 16) == 0);
}

static void test_marker(void)
{
	struct pod_marker m;
	char err[256];
	const char *ok = "{\"name\":\"web-1\",\"rootfs\":\"rootfs\",\"sock\":\"/run/containerd/io."
			 "containerd.runtime.v2.task/k8s.io/abc/runcvm-pod/sock\"}";
	CHECK(marker_parse(ok, strlen(ok), &m, err, sizeof err) == 0 &&
	      strcmp(m.name, "web-1") == 0 && strstr(m.sock, "/runcvm-pod/sock") != NULL);
	const char *bad[] = {
		"{\"name\":\"../x\",\"sock\":\"/s\"}",	 "{\"name\":\"a\",\"sock\":\"relative\"}",
		"{\"name\":\"a\",\"sock\":\"/a/../b\"}", "{\"name\":\"a\"}",
		"{\"name\":1,\"sock\":\"/s\"}",		 "[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(marker_parse(bad[i], strlen(bad[i]), &m, err, sizeof err) != 0);
	CHECK(task_id_ok("a") && task_id_ok("0ab_c.d-e") && !task_id_ok("") && !task_id_ok(".a") &&
	      !task_id_ok("a/b") && !task_id_ok("-a"));
}

/* Task.Create: the CRI's generic options become runc options naming runcvm-runtime; every
 * other field is kept byte for byte; runc options already there are left alone. */
static void test_create(void)
{
	uint8_t req[256];
	struct pb_out o = {.p = req, .cap = sizeof req};
	pb_str(&o, 1, "web-1");
	pb_str(&o, 2, "/run/containerd/io.containerd.runtime.v2.task/k8s.io/web-1");
	uint8_t generic[64];
	struct pb_out g = {.p = generic, .cap = sizeof generic};
	pb_str(&g, 1, "runtimeoptions.v1.Options");
	pb_bytes(&o, 10, generic, g.len);
	pb_str(&o, 6, "/run/fifo/stdout");
	CHECK(!o.err && !g.err);
	uint8_t out[512];
	size_t n = create_with_runc_binary(req, o.len, "/opt/runcvm/bin/runcvm-runtime", 0, out,
					   sizeof out);
	CHECK(n > 0);
	struct pb_field f, any, url, val, bin;
	CHECK(find(out, n, 1, &f) == 0 && f.n == 5 && memcmp(f.b, "web-1", 5) == 0);
	CHECK(find(out, n, 6, &f) == 0 && f.n == 16);
	CHECK(find(out, n, 10, &any) == 0);
	CHECK(find(any.b, any.n, 1, &url) == 0 && url.n == strlen(RUNC_OPTIONS_URL) &&
	      memcmp(url.b, RUNC_OPTIONS_URL, url.n) == 0);
	CHECK(find(any.b, any.n, 2, &val) == 0 && find(val.b, val.n, 6, &bin) == 0 &&
	      bin.n == strlen("/opt/runcvm/bin/runcvm-runtime"));
	CHECK(find(val.b, val.n, 9, &f) != 0); /* cgroupfs: no systemd_cgroup */
	/* systemd's driver: systemd_cgroup = true beside the binary. */
	size_t sd = create_with_runc_binary(req, o.len, "/x/runcvm-runtime", 1, out, sizeof out);
	CHECK(sd > 0 && find(out, sd, 10, &any) == 0 && find(any.b, any.n, 2, &val) == 0 &&
	      find(val.b, val.n, 9, &f) == 0 && f.type == PB_VARINT && f.v == 1);
	/* Exactly one options field: the generic one is gone. */
	struct pb_in in = {.p = out, .len = n};
	int options = 0;
	while (pb_next(&in, &f) == 1)
		options += f.num == 10;
	CHECK(options == 1);
	/* Without options at all, they are added. */
	size_t m = create_with_runc_binary(req, 2 + 5, "/x/runcvm-runtime", 0, out, sizeof out);
	CHECK(m > 0 && find(out, m, 10, &any) == 0);
	/* runc options already: unchanged. */
	uint8_t runc[64], already[128];
	struct pb_out r = {.p = runc, .cap = sizeof runc};
	pb_str(&r, 1, RUNC_OPTIONS_URL);
	struct pb_out a = {.p = already, .cap = sizeof already};
	pb_str(&a, 1, "id");
	pb_bytes(&a, 10, runc, r.len);
	m = create_with_runc_binary(already, a.len, "/x/runcvm-runtime", 1, out, sizeof out);
	CHECK(m == a.len && memcmp(out, already, m) == 0);
	/* Malformed: refused, not forwarded half-rewritten. */
	CHECK(create_with_runc_binary(req, o.len - 1, "/x", 0, out, sizeof out) == 0);
	/* The ttrpc Request around it: payload (field 3) replaced, service and method kept. */
	struct ttrpc_req tr;
	CHECK(ttrpc_req_read(STATS_FRAME + TTRPC_HDR, sizeof STATS_FRAME - TTRPC_HDR, &tr) == 0);
	uint8_t whole[256];
	m = request_with_payload(STATS_FRAME + TTRPC_HDR, sizeof STATS_FRAME - TTRPC_HDR,
				 (const uint8_t *)"\x0a\x01x", 3, whole, sizeof whole);
	CHECK(m > 0 && ttrpc_req_read(whole, m, &tr) == 0 &&
	      ttrpc_req_is(&tr, TASK_SERVICE, "Stats") && tr.payload_len == 3);
}

/* The cgroup driver the runc shim is told to use follows the form of the spec's cgroupsPath,
 * as containerd's CRI chose it from the kubelet's cgroup parent. */
static void test_cgroup_driver(void)
{
	CHECK(cgroups_path_is_systemd("kubepods-besteffort-pod1.slice:cri-containerd:abc"));
	CHECK(!cgroups_path_is_systemd("/kubepods/besteffort/pod1/abc"));
	CHECK(!cgroups_path_is_systemd("a:b"));
	CHECK(!cgroups_path_is_systemd("a:b:c:d"));
	CHECK(!cgroups_path_is_systemd("/a.slice:b:c"));
	CHECK(!cgroups_path_is_systemd(""));
	char err[256];
	const char *sd = "{\"ociVersion\":\"1.0.2\",\"linux\":{\"cgroupsPath\":\"k.slice:cri-"
			 "containerd:x\"}}";
	const char *fs = "{\"linux\":{\"cgroupsPath\":\"/k8s.io/x\",\"namespaces\":[]}}";
	const char *none = "{\"linux\":{}}";
	const char *nolinux = "{\"process\":{\"args\":[\"sh\"]}}";
	CHECK(spec_wants_systemd_cgroup(sd, strlen(sd), err, sizeof err) == 1);
	CHECK(spec_wants_systemd_cgroup(fs, strlen(fs), err, sizeof err) == 0);
	CHECK(spec_wants_systemd_cgroup(none, strlen(none), err, sizeof err) == 0);
	CHECK(spec_wants_systemd_cgroup(nolinux, strlen(nolinux), err, sizeof err) == 0);
	const char *bad[] = {"{\"linux\":{\"cgroupsPath\":7}}", "{\"linux\":", "[]"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(spec_wants_systemd_cgroup(bad[i], strlen(bad[i]), err, sizeof err) == -1);
	/* From a bundle on disk: read through the task dir, never through a symlink. */
	char tmpl[] = "/tmp/shim-cgroup-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	int ns = open(tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(ns >= 0 && mkdirat(ns, "t1", 0700) == 0 && mkdirat(ns, "t2", 0700) == 0);
	int fd = openat(ns, "t1/config.json", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, sd, strlen(sd)) == (ssize_t)strlen(sd) && close(fd) == 0);
	CHECK(symlinkat("../t1/config.json", ns, "t2/config.json") == 0);
	CHECK(bundle_wants_systemd_cgroup(ns, "t1", err, sizeof err) == 1);
	CHECK(bundle_wants_systemd_cgroup(ns, "t2", err, sizeof err) == -1);
	CHECK(bundle_wants_systemd_cgroup(ns, "t3", err, sizeof err) == -1);
	CHECK(bundle_wants_systemd_cgroup(ns, "../t1", err, sizeof err) == -1);
	CHECK(unlinkat(ns, "t2/config.json", 0) == 0 && unlinkat(ns, "t1/config.json", 0) == 0 &&
	      unlinkat(ns, "t1", AT_REMOVEDIR) == 0 && unlinkat(ns, "t2", AT_REMOVEDIR) == 0);
	close(ns);
	CHECK(rmdir(tmpl) == 0);
}

int main(void)
{
	test_create();
	test_cgroup_driver();
	test_pb();
	test_ttrpc();
	test_stats_response();
	test_marker();
	printf("%s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
