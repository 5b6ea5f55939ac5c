#include "modprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "modules.h"

#define ONDEMAND_LIST "/modules.ondemand"
#define MISSING_LIST  "/modules.missing"
#define HELPER	      "/sbin/modprobe"

/* The helper's console and kernel log, opened before it chroots into the initramfs, whose /dev
 * is empty by then (its devtmpfs moved into the workload's root); -1 when not available.
 * Module-wide in the helper process only (the kernel runs it, modprobe_main is its main), where
 * they are its stderr; PID 1 never sets them. */
static int console_fd = -1, kmsg_fd = -1;

/* The kernel starts the helper with no stdio: errors go to the console (RUNCVM_KERNEL_DEBUG=1). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (console_fd < 0)
		return;
	if (write(console_fd, line, (size_t)n) < 0) {
		/* Nowhere left to report it. */
	}
}

int modprobe_keep_initramfs(void)
{
	int initramfs_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (initramfs_fd < 0)
		log_warn("open the initramfs root: %s (no modules on demand)", strerror(errno));
	return initramfs_fd;
}

void modprobe_install(int initramfs_fd)
{
	if (initramfs_fd < 0)
		return;
	/* Resolved by the kernel in PID 1's mount namespace, whose /proc is the agent's. */
	char path[64];
	int n = snprintf(path, sizeof path, "/proc/1/fd/%d" HELPER, initramfs_fd);
	int fd = open("/proc/sys/kernel/modprobe", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, path, (size_t)n) != n)
		log_warn("set /proc/sys/kernel/modprobe to %s: %s", path, strerror(errno));
	if (fd >= 0 && close(fd) != 0)
		log_warn("set /proc/sys/kernel/modprobe: close: %s", strerror(errno));
}

int modprobe_invoked(const char *argv0)
{
	const char *base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return strcmp(base, "modprobe") == 0;
}

static int load(const char *path)
{
	struct agent_err e;
	if (modules_insert(path, &e) != 0) {
		say("runcvm modprobe: %s", e.msg);
		return -1;
	}
	return 0;
}

/* Loads every file after the key on the line, in order. */
static int load_chain(char *files)
{
	int rc = 0;
	for (char *p = files, *f; (f = strsep(&p, " ")) != NULL;)
		if (*f && load(f) != 0)
			rc = 1;
	return rc;
}

/* Module names match with - and _ alike, as kmod's; aliases are shell patterns. */
static int matches(const char *key, const char *name, const char *uname)
{
	return fnmatch(key, name, 0) == 0 || fnmatch(key, uname, 0) == 0;
}

/* Writes one line to the kernel log, so that `dmesg` in the container shows it. */
static void to_kmsg(const char *line)
{
	if (kmsg_fd < 0)
		return;
	if (write(kmsg_fd, line, strlen(line)) < 0) {
		/* The console copy (say) is all there is. */
	}
}

/*
 * The kernel asked for a feature nobody provides. /modules.missing (guest/kernel/missing.pl)
 * maps the names the kernel requests to the CONFIG_* option the runcvm kernel was built
 * without, so the failure names its cause: "no such table" from iptables says nothing of it.
 */
static void report_missing(const char *name, const char *uname)
{
	FILE *f = fopen(MISSING_LIST, "re");
	if (!f)
		return;
	char line[256], *option = NULL;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *opt = line;
		char *key = strsep(&opt, " ");
		if (opt && matches(key, name, uname)) {
			option = opt;
			break;
		}
	}
	fclose(f);
	if (!option)
		return;
	char msg[512];
	snprintf(msg, sizeof msg,
		 "<4>runcvm: the guest kernel lacks \"%s\": %s is not set in the runcvm kernel; "
		 "run the container with -e RUNCVM_KERNEL=debian for it\n",
		 name, option);
	to_kmsg(msg);
	say("%.*s", (int)strcspn(msg + 3, "\n"), msg + 3);
}

int modprobe_main(int argc, char **argv)
{
	/* The kernel runs `modprobe -q -- NAME`; options other than -q do not occur. */
	const char *name = NULL;
	int opts = 1;
	for (int i = 1; i < argc && !name; i++) {
		if (opts && strcmp(argv[i], "--") == 0)
			opts = 0;
		else if (!opts || argv[i][0] != '-')
			name = argv[i];
	}
	if (!name)
		return 1;
	console_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	/* Started as /proc/1/fd/N/sbin/modprobe: N is the initramfs, where the modules are. */
	size_t len = strlen(argv[0]), hl = strlen(HELPER);
	if (len > hl && strcmp(argv[0] + len - hl, HELPER) == 0) {
		char root[64];
		snprintf(root, sizeof root, "%.*s", (int)(len - hl), argv[0]);
		if (chroot(root) != 0 || chdir("/") != 0) {
			say("runcvm modprobe: chroot %s: %s", root, strerror(errno));
			return 1;
		}
	}
	char uname[256];
	snprintf(uname, sizeof uname, "%s", name);
	for (char *c = uname; *c; c++)
		if (*c == '-')
			*c = '_';
	FILE *f = fopen(ONDEMAND_LIST, "re");
	if (!f) {
		/* A kernel with nothing on demand (the runcvm kernel: all built in). */
		report_missing(name, uname);
		return 1;
	}
	char line[4096];
	int rc = 1, found = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		char *files = line;
		char *key = strsep(&files, " ");
		if (files && matches(key, name, uname)) {
			found = 1;
			rc = load_chain(files);
			break;
		}
	}
	fclose(f);
	if (!found)
		report_missing(name, uname);
	return rc;
}
