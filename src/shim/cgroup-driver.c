#include "cgroup-driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../runtime/exec-prep/json.h"
#include "stats.h"

/* containerd's specs are tens of KiB (a seccomp profile is the bulk); these bounds leave room
 * for large ones and still cap what one create may cost the proxy. */
#define SPEC_MAX    (4 * 1024 * 1024)
#define SPEC_TOKENS (256 * 1024)

int cgroups_path_is_systemd(const char *path)
{
	if (strchr(path, '/'))
		return 0;
	const char *a = strchr(path, ':');
	const char *b = a ? strchr(a + 1, ':') : NULL;
	return a && b && !strchr(b + 1, ':');
}

int spec_wants_systemd_cgroup(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_doc d;
	if (json_parse(&d, text, len, SPEC_TOKENS, err, errlen) != 0)
		return -1;
	int ret = 0;
	int linux = json_get(&d, 0, "linux");
	int cp = linux >= 0 && d.tok[linux].type == JSMN_OBJECT ? json_get(&d, linux, "cgroupsPath")
								: -1;
	if (cp >= 0 && !json_is_null(&d, cp)) {
		char *path = NULL;
		if (json_string(&d, cp, &path, err, errlen) != 0)
			ret = -1;
		else
			ret = cgroups_path_is_systemd(path);
		free(path);
	}
	json_free(&d);
	return ret;
}

int bundle_wants_systemd_cgroup(int nsdir, const char *id, char *err, size_t errlen)
{
	if (!task_id_ok(id)) {
		snprintf(err, errlen, "task id is not [A-Za-z0-9_.-]{1,128}");
		return -1;
	}
	int bundle = openat(nsdir, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bundle < 0) {
		snprintf(err, errlen, "open bundle %s: %s", id, strerror(errno));
		return -1;
	}
	int fd = openat(bundle, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(bundle);
	if (fd < 0) {
		snprintf(err, errlen, "open %s/config.json: %s", id, strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SPEC_MAX) {
		snprintf(err, errlen, "%s/config.json is not a regular file of at most %d bytes",
			 id, SPEC_MAX);
		close(fd);
		return -1;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory reading %s/config.json", id);
		return -1;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "read %s/config.json: %s", id,
				 n < 0 ? strerror(errno) : "shorter than its size");
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	int r = spec_wants_systemd_cgroup(buf, got, err, errlen);
	free(buf);
	return r;
}
