/*
 * runcvm-exec-prep: the runtime's `exec` verb, in place of Node (which cost ~0.2 s per docker
 * exec). The dispatcher (src/runtime/dispatcher.sh) runs it as
 *     runcvm-exec-prep RUNC [runc global flags] exec [exec flags] CONTAINER-ID
 * It finds the container's bundle (`runc state`), and when runcvm created the container (it has
 * runcvm/spec.json) it checks the command in the image and rewrites the --process file so that
 * runc starts runcvm's exec client, with the original process as the agent's START payload
 * (prepare.c). Then it becomes runc with the argv it was given. A container runcvm left to runc
 * (a Kubernetes pod sandbox) goes to runc untouched. Errors go to runc's --log as runc's own do.
 *     runcvm-exec-prep --rewrite SPEC.json PROCESS.json
 * does only the check and the rewrite (the unit test's entry; nothing else runs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "prepare.h"
#include "runc-log.h"

#define STATE_MAX (1024 * 1024)

extern char **environ;

struct runtime_args {
	const char *root, *log, *log_format, *process, *id;
};

/* --name=value, --name value or -x value; returns the value and advances *i, or NULL. */
static const char *flag_value(char **argv, int argc, int *i, const char *name, char shortname)
{
	const char *a = argv[*i];
	size_t nl = strlen(name);
	if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, name, nl) == 0) {
		if (a[2 + nl] == '=')
			return a + 3 + nl;
		if (a[2 + nl] == '\0' && *i + 1 < argc)
			return argv[++*i];
	}
	if (shortname && a[0] == '-' && a[1] == shortname && a[2] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

/* Does flag a (exec's or a global one) take a value? Unknown flags count as booleans. */
static int takes_value(const char *a, const char *const *names, const char *shorts)
{
	if (a[1] != '-')
		return a[1] != '\0' && a[2] == '\0' && strchr(shorts, a[1]) != NULL;
	if (strchr(a, '='))
		return 0;
	for (const char *const *n = names; *n; n++)
		if (strcmp(a + 2, *n) == 0)
			return 1;
	return 0;
}

/* runc's command line as containerd's shim spells it; only what this program needs is read. */
static void parse_args(int argc, char **argv, struct runtime_args *r)
{
	static const char *const global[] = {"root", "log", "log-format", "criu", "rootless", NULL};
	static const char *const exec[] = {"process",	    "console-socket",
					   "pid-file",	    "preserve-fds",
					   "cwd",	    "env",
					   "user",	    "additional-gids",
					   "process-label", "apparmor",
					   "cap",	    "cgroup",
					   "pidfd-socket",  NULL};
	int i = 0;
	const char *v;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((v = flag_value(argv, argc, &i, "root", 0)))
			r->root = v;
		else if ((v = flag_value(argv, argc, &i, "log-format", 0)))
			r->log_format = v;
		else if ((v = flag_value(argv, argc, &i, "log", 0)))
			r->log = v;
		else if (takes_value(argv[i], global, ""))
			i++;
	}
	for (i++; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			if (!r->id && i + 1 < argc)
				r->id = argv[i + 1];
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (!r->id)
				r->id = argv[i];
			continue;
		}
		if ((v = flag_value(argv, argc, &i, "process", 'p')))
			r->process = v;
		else if (takes_value(argv[i], exec, "peugcl"))
			i++;
	}
}

static void fail(const struct runtime_args *r, const char *msg) __attribute__((noreturn));
static void fail(const struct runtime_args *r, const char *msg)
{
	char line[8192];
	snprintf(line, sizeof line, "runcvm: container %.12s: %s", r->id ? r->id : "", msg);
	runc_log_error(r->log, r->log_format, line);
	exit(1);
}

/* `runc [--root R] state ID` → the bundle directory, as runc reports it. */
static char *bundle_of(const char *runc, const struct runtime_args *r, char *err, size_t errlen)
{
	char *argv[] = {(char *)runc, "--root", (char *)r->root, "state", (char *)r->id, NULL};
	char **args = r->root ? argv : (char *[]){(char *)runc, "state", (char *)r->id, NULL};
	int out[2];
	int errfd = memfd_create("runc-state-stderr", MFD_CLOEXEC);
	if (errfd < 0 || pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "runc state: %s", strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc = posix_spawn_file_actions_init(&fa);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	if (!rc)
		rc = posix_spawn(&pid, runc, &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	if (rc) {
		snprintf(err, errlen, "running %s: %s", runc, strerror(rc));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	char why[256] = "";
	int read_rc = read_bounded(out[0], 0, "runc state's output", STATE_MAX, &text, &len, why,
				   sizeof why);
	close(out[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for runc state: %s", strerror(errno));
			return NULL;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char msg[2048] = "";
		ssize_t n = pread(errfd, msg, sizeof msg - 1, 0);
		msg[n > 0 ? n : 0] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errlen, "runc state %s: %s", r->id, *msg ? msg : "failed");
		free(text);
		return NULL;
	}
	close(errfd);
	struct json_doc d;
	char *bundle = NULL;
	if (read_rc != 0 || json_parse(&d, text, len, 4096, why, sizeof why) != 0) {
		snprintf(err, errlen, "runc state %s: %s", r->id, why);
	} else {
		if (json_string(&d, json_get(&d, 0, "bundle"), &bundle, why, sizeof why) != 0 ||
		    bundle[0] != '/') {
			snprintf(err, errlen, "runc state %s: no absolute bundle path", r->id);
			free(bundle);
			bundle = NULL;
		}
		json_free(&d);
	}
	free(text);
	return bundle;
}

static int rewrite_only(const char *spec, const char *process)
{
	char err[4096];
	int fd = open(spec, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "opening %s: %s\n", spec, strerror(errno));
		return 1;
	}
	int rc = prepare_exec(fd, spec, process, err, sizeof err);
	close(fd);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	return rc != 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--rewrite") == 0)
		return rewrite_only(argv[2], argv[3]);
	struct runtime_args r = {0};
	if (argc < 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: runcvm-exec-prep /path/to/runc [runc flags] exec ... ID\n");
		return 2;
	}
	const char *runc = argv[1];
	parse_args(argc - 2, argv + 2, &r);
	if (!r.id)
		fail(&r, "runc exec: no container id given");
	if (!r.process)
		fail(&r, "runcvm supports exec only with --process (as containerd calls it)");
	char err[8192];
	char *bundle = bundle_of(runc, &r, err, sizeof err);
	if (!bundle)
		fail(&r, err);
	char spec[4096];
	if ((size_t)snprintf(spec, sizeof spec, "%s/runcvm/spec.json", bundle) >= sizeof spec)
		fail(&r, "the bundle path is too long");
	int fd = open(spec, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	/* No spec: a container runcvm left to runc (a pod sandbox, runtime/pod.ts), no VM. */
	if (fd < 0 && errno != ENOENT) {
		snprintf(err, sizeof err, "opening %s: %s", spec, strerror(errno));
		fail(&r, err);
	}
	if (fd >= 0) {
		if (prepare_exec(fd, spec, r.process, err, sizeof err) != 0)
			fail(&r, err);
		close(fd);
	}
	free(bundle);
	execv(runc, argv + 1);
	snprintf(err, sizeof err, "running %s: %s", runc, strerror(errno));
	fail(&r, err);
}
