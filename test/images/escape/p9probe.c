/*
 * Raw 9P2000.L escape probe for the RUNCVM_VOLUMES=9p tests (test/e2e/storage.test.ts): the guest
 * kernel never sends `..` past a mount root or a name with a slash, so a malicious guest would
 * talk to the file server itself. This does that from inside the guest.
 * Usage: p9probe ADDR PORT ANAME SECRET_PATH
 * Attaches to ANAME and tries to reach SECRET_PATH (a host file outside every volume) by `..`
 * walks, names containing slashes, symlinks in the export (abs-link, rel-link, root-link made by
 * the test on the host), other attach names, and a write into the server's own root. Prints one
 * line per attempt; "READ <bytes>" means a file was opened and read. A control read of the
 * export's file `f` proves the probe itself works. Built static with musl-gcc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	RLERROR = 7,
	TLOPEN = 12,
	TLCREATE = 14,
	TREADDIR = 40,
	TVERSION = 100,
	TATTACH = 104,
	TWALK = 110,
	TREAD = 116,
	TCLUNK = 120
};
#define NOFID 0xffffffffu
#define MSIZE 8192

static int sock;
static uint8_t buf[MSIZE];
static size_t pos;

static void put(const void *p, size_t n)
{
	memcpy(buf + pos, p, n);
	pos += n;
}
static void p8(uint8_t v)
{
	put(&v, 1);
}
static void p16(uint16_t v)
{
	put(&v, 2);
}
static void p32(uint32_t v)
{
	put(&v, 4);
}
static void p64(uint64_t v)
{
	put(&v, 8);
}
static void pstr(const char *s)
{
	p16((uint16_t)strlen(s));
	put(s, strlen(s));
}
static uint32_t g32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint16_t g16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static void begin(uint8_t type)
{
	pos = 4;
	p8(type);
	p16(1);
}

static int full(int write_side, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write_side ? write(sock, p, n) : read(sock, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Sends the message being built; returns the reply type (body in buf+7), or -1 on a dead link. */
static int rpc(uint32_t *errcode)
{
	uint32_t size = (uint32_t)pos;
	memcpy(buf, &size, 4);
	if (full(1, buf, pos) != 0 || full(0, buf, 4) != 0)
		return -1;
	size = g32(buf);
	if (size < 7 || size > MSIZE || full(0, buf + 4, size - 4) != 0)
		return -1;
	if (buf[4] == RLERROR && errcode)
		*errcode = g32(buf + 7);
	return buf[4];
}

static int attach(uint32_t fid, const char *aname, uint32_t *e)
{
	begin(TATTACH);
	p32(fid);
	p32(NOFID);
	pstr("root");
	pstr(aname);
	p32(0);
	return rpc(e) == TATTACH + 1 ? 0 : -1;
}

static void clunk(uint32_t fid)
{
	begin(TCLUNK);
	p32(fid);
	rpc(NULL);
}

/* Walks names from fid to newfid: 0 when every name was walked, else -1 (errno-like code in *e). */
static int walk(uint32_t fid, uint32_t newfid, char **names, int n, uint32_t *e)
{
	begin(TWALK);
	p32(fid);
	p32(newfid);
	p16((uint16_t)n);
	for (int i = 0; i < n; i++)
		pstr(names[i]);
	int t = rpc(e);
	if (t != TWALK + 1)
		return -1;
	int got = g16(buf + 7);
	if (got != n) {
		*e = 0;
		printf("walked %d of %d names; ", got, n);
		return -1;
	}
	return 0;
}

/* Opens fid and prints what it holds. */
static void read_fid(uint32_t fid)
{
	uint32_t e = 0;
	begin(TLOPEN);
	p32(fid);
	p32(O_RDONLY);
	if (rpc(&e) != TLOPEN + 1) {
		printf("open refused (errno %u)\n", e);
		return;
	}
	begin(TREAD);
	p32(fid);
	p64(0);
	p32(512);
	if (rpc(&e) != TREAD + 1) {
		printf("read refused (errno %u)\n", e);
		return;
	}
	uint32_t n = g32(buf + 7);
	printf("READ %.*s\n", (int)(n > 200 ? 200 : n), (const char *)buf + 11);
}

static void try_walk(const char *label, char **names, int n)
{
	uint32_t e = 0;
	printf("%s: ", label);
	if (walk(1, 2, names, n, &e) != 0) {
		printf("walk refused (errno %u)\n", e);
		clunk(2); /* diod keeps a fid for a partial walk */
		return;
	}
	read_fid(2);
	clunk(2);
}

/* Splits an absolute path into names after `ups` leading "..". */
static int path_names(char **out, int ups, char *path)
{
	int n = 0;
	for (; n < ups; n++)
		out[n] = "..";
	for (char *t = strtok(path, "/"); t && n < 60; t = strtok(NULL, "/"))
		out[n++] = t;
	return n;
}

static void list_server_root(void)
{
	char *ups[12];
	uint32_t e = 0;
	for (int i = 0; i < 12; i++)
		ups[i] = "..";
	printf("server root: ");
	if (walk(1, 3, ups, 12, &e) != 0) {
		printf("walk refused (errno %u)\n", e);
		return;
	}
	begin(TLOPEN);
	p32(3);
	p32(O_RDONLY | O_DIRECTORY);
	if (rpc(&e) == TLOPEN + 1) {
		begin(TREADDIR);
		p32(3);
		p64(0);
		p32(4000);
		if (rpc(&e) == TREADDIR + 1) {
			uint32_t n = g32(buf + 7);
			for (uint8_t *p = buf + 11; p < buf + 11 + n;) {
				uint16_t l = g16(p + 22);
				printf("%.*s ", l, (const char *)p + 24);
				p += 24 + l;
			}
		}
	}
	printf("\n");
	clunk(3);
	/* Try to create a file there: the server's own files must not be writable. */
	if (walk(1, 4, ups, 12, &e) != 0) {
		printf("walk refused (errno %u)\n", e);
		return;
	}
	begin(TLCREATE);
	p32(4);
	pstr("p9probe-was-here");
	p32(O_WRONLY | O_CREAT);
	p32(0644);
	p32(0);
	int t = rpc(&e);
	printf("create in server root: %s (errno %u)\n", t == TLCREATE + 1 ? "CREATED" : "refused",
	       e);
	clunk(4);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: p9probe ADDR PORT ANAME SECRET_PATH\n");
		return 2;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
		return 2;
	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) != 0) {
		printf("connect %s:%s: %s\n", argv[1], argv[2], strerror(errno));
		return 1;
	}
	begin(TVERSION);
	p32(MSIZE);
	pstr("9P2000.L");
	if (rpc(NULL) != TVERSION + 1) {
		printf("version refused\n");
		return 1;
	}
	const char *aname = argv[3], *secret = argv[4];
	char parent[512];
	snprintf(parent, sizeof parent, "%s", aname);
	char *slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = 0;
	char dotted[600];
	snprintf(dotted, sizeof dotted, "%s/../../../..", aname);
	const char *other[] = {"/", parent, dotted, "/etc", "/proc"};
	for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
		uint32_t e = 0;
		int ok = attach(9, other[i], &e) == 0;
		printf("attach %s: %s (errno %u)\n", other[i], ok ? "ATTACHED" : "refused", e);
		if (ok)
			clunk(9);
	}
	uint32_t e = 0;
	if (attach(1, aname, &e) != 0) {
		printf("attach %s failed (errno %u)\n", aname, e);
		return 1;
	}
	char *names[64];
	char copy[512];
	try_walk("control f", (char *[]){"f"}, 1);
	snprintf(copy, sizeof copy, "%s", secret);
	try_walk("dotdot", names, path_names(names, 10, copy));
	char slashed[600];
	snprintf(slashed, sizeof slashed, "../../../../../../../..%s", secret);
	try_walk("slash name", (char *[]){slashed}, 1);
	try_walk("absolute name", (char *[]){(char *)secret}, 1);
	try_walk("abs-link", (char *[]){"abs-link"}, 1);
	try_walk("rel-link", (char *[]){"rel-link"}, 1);
	snprintf(copy, sizeof copy, "%s", secret);
	names[0] = "root-link";
	try_walk("through root-link", names, 1 + path_names(names + 1, 0, copy));
	list_server_root();
	printf("probe done\n");
	return 0;
}
