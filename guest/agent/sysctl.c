#include "sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int sysctl_path_ok(const char *path)
{
	if (!path[0] || path[0] == '/')
		return 0;
	for (const char *p = path; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (!end)
			break;
		p = end + 1;
		if (!*p)
			return 0; /* a trailing '/' */
	}
	return 1;
}

int sysctl_add(struct sysctl_req **arr, size_t *n, const uint8_t *v, uint32_t len)
{
	const uint8_t *nul = memchr(v, 0, len);
	if (!nul || memchr(nul + 1, 0, len - (size_t)(nul + 1 - v)))
		return -1;
	struct sysctl_req *grown = realloc(*arr, (*n + 1) * sizeof **arr);
	if (!grown)
		return -1;
	*arr = grown;
	size_t plen = (size_t)(nul - v), vlen = len - plen - 1;
	char *path = strndup((const char *)v, plen), *value = strndup((const char *)nul + 1, vlen);
	if (!path || !value || !sysctl_path_ok(path)) {
		free(path);
		free(value);
		return -1;
	}
	grown[*n] = (struct sysctl_req){path, value};
	(*n)++;
	return 0;
}

void sysctl_free(struct sysctl_req *arr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(arr[i].path);
		free(arr[i].value);
	}
	free(arr);
}

/* Writes text to /proc/sys/<path>; 0 or an errno, with the failing step in *step. */
static int write_proc_sys(const char *path, const char *text, const char **step)
{
	char file[512];
	if (snprintf(file, sizeof file, "/proc/sys/%s", path) >= (int)sizeof file) {
		*step = "path too long";
		return ENAMETOOLONG;
	}
	int fd = open(file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*step = "open";
		return errno;
	}
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int err = w < 0 ? errno : (size_t)w != len ? EIO : 0;
	*step = "write";
	if (close(fd) != 0 && !err) {
		err = errno;
		*step = "close";
	}
	return err;
}

int sysctl_apply(const struct sysctl_req *s, size_t n, struct agent_err *e)
{
	for (size_t i = 0; i < n; i++) {
		const char *step = "";
		int err = write_proc_sys(s[i].path, s[i].value, &step);
		if (err)
			return agent_err_sys(e, err, "sysctl %s=%s: %s /proc/sys/%s", s[i].path,
					     s[i].value, step, s[i].path);
		log_debug("sysctl %s = %s", s[i].path, s[i].value);
	}
	return 0;
}

int sysctl_writeback_timing(void)
{
	static const struct {
		const char *path;
		unsigned cs;
	} t[] = {{"vm/dirty_expire_centisecs", SYSCTL_DIRTY_EXPIRE_CS},
		 {"vm/dirty_writeback_centisecs", SYSCTL_DIRTY_WRITEBACK_CS}};
	int rc = 0;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char text[16];
		const char *step = "";
		snprintf(text, sizeof text, "%u", t[i].cs);
		int e = write_proc_sys(t[i].path, text, &step);
		if (e) {
			log_error("set /proc/sys/%s to %s: %s: %s (shared mappings may reach the "
				  "host up to 35 s late)",
				  t[i].path, text, step, strerror(e));
			rc = -1;
		}
	}
	return rc;
}
