/* See lookup.h. */
#define _GNU_SOURCE
#include "lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <linux/openat2.h>, which musl's headers do not carry. */
struct open_how_v0 {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_IN_ROOT_       0x10

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* path made absolute against cwd and normalised (".", "..", repeated slashes) into out, as
 * Node's path.posix.resolve does; "/.." is "/". -1 when it does not fit. */
static int absolute(const char *cwd, const char *path, char *out, size_t cap)
{
	char joined[2 * PATH_MAX];
	int n = path[0] == '/' ? snprintf(joined, sizeof joined, "%s", path)
			       : snprintf(joined, sizeof joined, "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sizeof joined)
		return -1;
	size_t len = 0;
	for (char *save = NULL, *part = strtok_r(joined, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			while (len > 0 && out[--len] != '/')
				;
			continue;
		}
		size_t pl = strlen(part);
		if (len + 1 + pl + 1 > cap)
			return -1;
		out[len++] = '/';
		memcpy(out + len, part, pl);
		len += pl;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

static int under_mount(const char *abs, char *const *mounts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t ml = strlen(mounts[i]);
		if (strcmp(abs, mounts[i]) == 0)
			return 1;
		if (ml > 0 && mounts[i][ml - 1] == '/') {
			if (strncmp(abs, mounts[i], ml) == 0)
				return 1;
		} else if (strncmp(abs, mounts[i], ml) == 0 && abs[ml] == '/') {
			return 1;
		}
	}
	return 0;
}

enum found { RUNS, NOT_EXECUTABLE, MISSING, FAILED };

/* What the container would find at abs: resolved by the kernel inside rootfd. */
static enum found stat_in_root(int rootfd, const char *abs, char *msg, size_t msglen)
{
	struct open_how_v0 how = {.flags = O_PATH | O_CLOEXEC,
				  .resolve = RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_};
	long fd;
	/* EAGAIN: a concurrent rename raced with a ".."; the kernel asks for a retry. */
	for (int tries = 0;; tries++) {
		fd = syscall(SYS_openat2, rootfd, abs, &how, sizeof how);
		if (fd >= 0 || errno != EAGAIN || tries == 8)
			break;
	}
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return MISSING;
		snprintf(msg, msglen, "looking up %s in the container's root: %s%s", abs,
			 strerror(errno),
			 errno == ENOSYS ? " (runcvm's exec needs Linux 5.6 or later: openat2)"
					 : "");
		return FAILED;
	}
	struct stat st;
	int rc = fstat((int)fd, &st);
	int err = errno;
	close((int)fd);
	if (rc != 0) {
		snprintf(msg, msglen, "stat %s in the container's root: %s", abs, strerror(err));
		return FAILED;
	}
	return !S_ISDIR(st.st_mode) && (st.st_mode & 0111) ? RUNS : NOT_EXECUTABLE;
}

static enum found check(int rootfd, const char *cwd, const char *path, char *const *mounts,
			size_t nmounts, char *msg, size_t msglen)
{
	char abs[PATH_MAX];
	if (absolute(cwd, path, abs, sizeof abs) != 0) {
		snprintf(msg, msglen, "exec: \"%s\": file name too long", path);
		return FAILED;
	}
	if (under_mount(abs, mounts, nmounts))
		return RUNS;
	return stat_in_root(rootfd, abs, msg, msglen);
}

int lookup_exec_error(int rootfd, const char *name, const char *path_env, const char *cwd,
		      char *const *mounts, size_t nmounts, char *msg, size_t msglen)
{
	if (strchr(name, '/')) {
		switch (check(rootfd, cwd, name, mounts, nmounts, msg, msglen)) {
		case RUNS: return 0;
		case FAILED: return -1;
		case MISSING:
			snprintf(msg, msglen, "exec: \"%s\": stat %s: no such file or directory",
				 name, name);
			return 1;
		case NOT_EXECUTABLE:
			snprintf(msg, msglen, "exec: \"%s\": permission denied", name);
			return 1;
		}
	}
	const char *dirs = path_env ? path_env : DEFAULT_PATH;
	for (const char *d = dirs;; d++) {
		const char *end = strchrnul(d, ':');
		char cand[2 * PATH_MAX];
		/* An empty entry is the current directory, as in Go's exec.LookPath. */
		int n = end == d ? snprintf(cand, sizeof cand, "./%s", name)
				 : snprintf(cand, sizeof cand, "%.*s/%s", (int)(end - d), d, name);
		if (n < 0 || (size_t)n >= sizeof cand) {
			snprintf(msg, msglen, "exec: \"%s\": file name too long", name);
			return -1;
		}
		enum found f = check(rootfd, cwd, cand, mounts, nmounts, msg, msglen);
		if (f == RUNS)
			return 0;
		if (f == FAILED)
			return -1;
		if (!*end)
			break;
		d = end;
	}
	snprintf(msg, msglen, "exec: \"%s\": executable file not found in $PATH", name);
	return 1;
}
