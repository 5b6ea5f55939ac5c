#include "marker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/exec-prep/json.h"
#include "stats.h"

/* The marker holds three short strings. */
#define MARKER_MAX 8192

static int sock_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] != '/' || n >= sizeof((struct pod_marker *)0)->sock)
		return 0;
	/* No . or .. component: the path is used as is. */
	for (const char *c = s; (c = strchr(c, '/')) != NULL; c++)
		if ((c[1] == '.' && (c[2] == '/' || c[2] == 0)) ||
		    (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == 0)))
			return 0;
	return 1;
}

int marker_parse(const char *text, size_t len, struct pod_marker *m, char *err, size_t errlen)
{
	struct json_doc d;
	if (json_parse(&d, text, len, 64, err, errlen) != 0)
		return -1;
	int ret = -1;
	char *name = NULL, *sock = NULL;
	int in = json_get(&d, 0, "name"), is = json_get(&d, 0, "sock");
	if (in < 0 || is < 0) {
		snprintf(err, errlen, "no name or sock");
		goto out;
	}
	if (json_string(&d, in, &name, err, errlen) != 0 ||
	    json_string(&d, is, &sock, err, errlen) != 0)
		goto out;
	if (!task_id_ok(name)) {
		snprintf(err, errlen, "name is not [A-Za-z0-9_.-]{1,128}");
		goto out;
	}
	if (!sock_ok(sock)) {
		snprintf(err, errlen, "sock is not an absolute path without . or ..");
		goto out;
	}
	snprintf(m->name, sizeof m->name, "%s", name);
	snprintf(m->sock, sizeof m->sock, "%s", sock);
	ret = 0;
out:
	free(name);
	free(sock);
	json_free(&d);
	return ret;
}

int marker_read(int nsdir, const char *id, struct pod_marker *m, char *err, size_t errlen)
{
	if (!task_id_ok(id)) {
		snprintf(err, errlen, "task id is not [A-Za-z0-9_.-]{1,128}");
		return -1;
	}
	int bundle = openat(nsdir, id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bundle < 0) {
		snprintf(err, errlen, "open bundle %s: %s", id, strerror(errno));
		return errno == ENOENT ? 0 : -1;
	}
	int dir = openat(bundle, "runcvm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(bundle);
	if (dir < 0) {
		snprintf(err, errlen, "open %s/runcvm: %s", id, strerror(e));
		return e == ENOENT ? 0 : -1;
	}
	int fd = openat(dir, "pod-container.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(dir);
	if (fd < 0) {
		snprintf(err, errlen, "open %s/runcvm/pod-container.json: %s", id, strerror(e));
		return e == ENOENT ? 0 : -1;
	}
	char buf[MARKER_MAX];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof buf - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			snprintf(err, errlen, "read %s's marker: %s", id, strerror(e));
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == sizeof buf) {
			close(fd);
			snprintf(err, errlen, "%s's marker is longer than %d bytes", id,
				 MARKER_MAX);
			return -1;
		}
	}
	close(fd);
	return marker_parse(buf, got, m, err, errlen) == 0 ? 1 : -1;
}
