#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

int modules_insert(const char *path, struct agent_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return agent_err_sys(e, errno, "open module %s", path);
	long rc = syscall(SYS_finit_module, fd, "", 0);
	int err = errno;
	close(fd); /* read-only: nothing to lose */
	/* Already loaded (shared dependencies, a racing request) counts as loaded. */
	if (rc != 0 && err != EEXIST)
		return agent_err_sys(e, err, "load module %s", path);
	return 0;
}

static int load_one(const char *path)
{
	struct agent_err e;
	if (modules_insert(path, &e) != 0) {
		agent_err_log(&e);
		return -1;
	}
	/* The initramfs lives in RAM for the VM's lifetime: drop what is no longer needed. */
	if (unlink(path) != 0)
		log_debug("unlink %s: %s", path, strerror(errno));
	log_debug("loaded %s", path);
	return 0;
}

int modules_load(const char *list)
{
	FILE *f = fopen(list, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0; /* a kernel with everything built in needs no list */
		log_error("open %s: %s", list, strerror(errno));
		return 1;
	}
	char line[512];
	int failures = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] == 0 || line[0] == '#')
			continue;
		if (load_one(line) != 0)
			failures++;
	}
	if (ferror(f)) {
		log_error("read %s: %s", list, strerror(errno));
		failures++;
	}
	fclose(f);
	return failures;
}
