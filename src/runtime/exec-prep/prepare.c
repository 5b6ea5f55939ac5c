/* See prepare.h. */
#define _GNU_SOURCE
#include "prepare.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "lookup.h"
#include "process.h"

/* Linux's MAX_ARG_STRLEN (32 pages): the longest string execve takes, so the longest
 * "RUNCVM_EXEC_START=<base64>" runc can give the exec client. */
#define ENV_STRING_MAX (32 * 4096)
#define START_MAX      ((ENV_STRING_MAX - sizeof START_ENV - 1) / 4 * 3)

int read_bounded(int fd, int regular, const char *what, size_t max, char **out, size_t *len,
		 char *err, size_t errlen)
{
	struct stat st;
	if (regular && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		snprintf(err, errlen, "%s: not a regular file", what);
		return -1;
	}
	char *b = malloc(max + 1);
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", what);
		return -1;
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "reading %s: %s", what, strerror(errno));
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			snprintf(err, errlen, "%s: larger than %zu bytes", what, max);
			free(b);
			return -1;
		}
	}
	b[n] = '\0';
	*out = b;
	*len = n;
	return 0;
}

static void base64(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[o] = '\0';
}

struct launch {
	char *rootfs;
	char **mounts;
	size_t nmounts;
};

static void launch_free(struct launch *l)
{
	free(l->rootfs);
	for (size_t i = 0; i < l->nmounts; i++)
		free(l->mounts[i]);
	free(l->mounts);
}

/* The two fields of spec.json the lookup needs (contracts/launch-spec.ts), checked as
 * contracts/read-launch-spec.ts checks them: a container created by another runcvm version
 * may have written a different format. */
static int read_launch(int fd, const char *path, struct launch *l, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	char *text, why[160];
	size_t len;
	if (read_bounded(fd, 1, path, SPEC_JSON_MAX, &text, &len, err, errlen) != 0)
		return -1;
	struct json_doc d;
	int rc = -1;
	uint32_t version;
	if (json_parse(&d, text, len, SPEC_TOKENS_MAX, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(text);
		return -1;
	}
	int mounts = json_get(&d, 0, "mounts");
	if (json_u32(&d, json_get(&d, 0, "version"), &version) != 0 || version != 1)
		snprintf(err, errlen, "%s: version is not 1 (written by another runcvm version?)",
			 path);
	else if (json_string(&d, json_get(&d, 0, "rootfs"), &l->rootfs, why, sizeof why) != 0 ||
		 l->rootfs[0] != '/')
		snprintf(err, errlen, "%s: rootfs is not an absolute path", path);
	else if (mounts < 0 || d.tok[mounts].type != JSMN_ARRAY ||
		 !(l->mounts = calloc((size_t)d.tok[mounts].size + 1, sizeof *l->mounts)))
		snprintf(err, errlen, "%s: mounts is not an array", path);
	else
		rc = 0;
	for (int k = 0, t = mounts + 1; rc == 0 && k < d.tok[mounts].size;
	     k++, t = json_skip(&d, t)) {
		if (json_string(&d, json_get(&d, t, "destination"), &l->mounts[l->nmounts], why,
				sizeof why) != 0) {
			snprintf(err, errlen, "%s: mounts[%d].destination is not a string", path,
				 k);
			rc = -1;
		} else {
			l->nmounts++;
		}
	}
	json_free(&d);
	free(text);
	if (rc != 0)
		launch_free(l);
	return rc;
}

/* Replaces path in one step (a reader sees the old content or the new, never half of it). */
static int write_atomic(const char *path, const struct buf *b, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.runcvm-tmp-%d", path, (int)getpid()) >=
	    sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "creating %s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	int failed = fchmod(fd, 0600) != 0;
	while (!failed && off < b->len) {
		ssize_t w = write(fd, b->p + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		failed = w <= 0;
		off += w > 0 ? (size_t)w : 0;
	}
	int saved = errno;
	if (close(fd) != 0 && !failed) {
		failed = 1;
		saved = errno;
	}
	if (!failed && rename(tmp, path) != 0) {
		failed = 1;
		saved = errno;
	}
	if (failed) {
		snprintf(err, errlen, "writing %s: %s", path, strerror(saved));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int check_command(const struct launch *l, const struct exec_process *p, char *err,
			 size_t errlen)
{
	int rootfd = open(l->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		snprintf(err, errlen, "opening the container's root %s: %s", l->rootfs,
			 strerror(errno));
		return -1;
	}
	char msg[1024];
	int r = lookup_exec_error(rootfd, p->args[0], process_env(p, "PATH"), p->cwd, l->mounts,
				  l->nmounts, msg, sizeof msg);
	close(rootfd);
	if (r == 1)
		snprintf(err, errlen, "exec failed: unable to start container process: %s", msg);
	else if (r < 0)
		snprintf(err, errlen, "%s", msg);
	return r == 0 ? 0 : -1;
}

static int rewrite(const char *process_path, const struct launch *l, char *err, size_t errlen)
{
	int fd = open(process_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *text = NULL, *b64 = NULL, why[256];
	size_t len;
	if (fd < 0) {
		snprintf(err, errlen, "opening %s: %s", process_path, strerror(errno));
		return -1;
	}
	int rc = read_bounded(fd, 1, process_path, PROCESS_JSON_MAX, &text, &len, err, errlen);
	close(fd);
	if (rc != 0)
		return -1;
	struct json_doc d = {0};
	struct exec_process p = {0};
	struct buf start = {.max = START_MAX}, out = {.max = 2 * PROCESS_JSON_MAX + ENV_STRING_MAX};
	rc = -1;
	if (json_parse(&d, text, len, PROCESS_TOKENS_MAX, why, sizeof why) != 0 ||
	    process_read(&d, &p, why, sizeof why) != 0)
		snprintf(err, errlen, "%s: %s", process_path, why);
	else if (check_command(l, &p, err, errlen) != 0)
		;
	else if (process_start_payload(&p, &start) != 0)
		snprintf(err, errlen,
			 "the exec's arguments and environment take more than %zu bytes, the most "
			 "runcvm can hand its exec client",
			 (size_t)START_MAX);
	else if (!(b64 = malloc(start.len / 3 * 4 + 5)))
		snprintf(err, errlen, "out of memory");
	else if ((base64(start.p, start.len, b64), process_client_json(&d, b64, &out)) != 0)
		snprintf(err, errlen, "%s: the rewritten process is too large", process_path);
	else
		rc = write_atomic(process_path, &out, err, errlen);
	free(b64);
	buf_free(&out);
	buf_free(&start);
	process_free(&p);
	json_free(&d);
	free(text);
	return rc;
}

int prepare_exec(int spec_fd, const char *spec_path, const char *process_path, char *err,
		 size_t errlen)
{
	struct launch l;
	if (read_launch(spec_fd, spec_path, &l, err, errlen) != 0)
		return -1;
	int rc = rewrite(process_path, &l, err, errlen);
	launch_free(&l);
	return rc;
}
