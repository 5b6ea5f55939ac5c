#include "exec.h"

#include "container.h"
#include "portfwd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Go's errno texts are lower-case, and Docker matches runc's messages by substring. */
static const char *errtext(int err)
{
	static char buf[128];
	snprintf(buf, sizeof buf, "%s", strerror(err));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

_Static_assert(sizeof(struct agent_err) <= PIPE_BUF, "an exec report must be one atomic write");

static void report(const struct child_spec *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void report(const struct child_spec *c, int err, const char *fmt, ...)
{
	struct agent_err r = {.errnum = err};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r.msg, sizeof r.msg, fmt, ap);
	va_end(ap);
	/* One write below PIPE_BUF arrives whole; nothing else can be done if it fails. */
	if (write(c->report_fd, &r, sizeof r) != (ssize_t)sizeof r)
		_exit(126);
	_exit(127);
}

static void step_failed(const struct child_spec *c, const char *step)
{
	int err = errno;
	report(c, err, "%s: %s", step, errtext(err));
}

static void reset_signals(const struct child_spec *c)
{
	sigset_t all;
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) != 0)
		step_failed(c, "reset signal mask");
	/* execve resets caught signals itself; what it keeps are ignored ones, and SIGPIPE is the
	 * only one the agent ignores (main.c). One call, not one per signal: 64 calls cost ~2-3 ms
	 * of every start under TCG. */
	if (signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		step_failed(c, "reset SIGPIPE");
}

static void enter_namespaces(const struct child_spec *c)
{
	const struct start_req *r = c->req;
	if (r->container || r->join) {
		const char *step = "container";
		if ((r->container ? container_enter(r, &step)
				  : container_join(c->ctrs, r, &step)) != 0)
			step_failed(c, step);
		return;
	}
	if (c->join_mnt_fd >= 0 && setns(c->join_mnt_fd, CLONE_NEWNS) != 0)
		step_failed(c, "join the mount namespace of process 1");
	if (!c->new_mount_ns)
		return;
	if (unshare(CLONE_NEWNS) != 0)
		step_failed(c, "unshare mount namespace");
	/* Private first, so the /proc of this PID namespace does not leak back to the agent. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		step_failed(c, "make / private");
	if (umount2("/proc", MNT_DETACH) != 0 && errno != EINVAL)
		step_failed(c, "unmount the agent's /proc");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		step_failed(c, "mount /proc");
}

static void setup_stdio(const struct child_spec *c, const int stdio[3])
{
	if (setsid() < 0)
		step_failed(c, "setsid");
	if (c->terminal && ioctl(stdio[0], TIOCSCTTY, 0) != 0)
		step_failed(c, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(stdio[i], i) < 0)
			step_failed(c, "set up stdio");
}

/* A pod-VM container's terminal comes from its own devpts (as runc makes it in the container's
 * /dev/pts), so `tty` and ttyname() name it: opened here, inside the container's namespaces,
 * and the master handed to the agent. The slave belongs to the process's user, as runc does. */
static void own_pty(const struct child_spec *c, int stdio[3])
{
	const struct start_req *r = c->req;
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		step_failed(c, "open the container's /dev/ptmx");
	if (unlockpt(m) != 0)
		step_failed(c, "unlock the container's pty");
	struct winsize ws = {.ws_row = r->rows, .ws_col = r->cols};
	if (r->rows && ioctl(m, TIOCSWINSZ, &ws) != 0)
		step_failed(c, "set the terminal's window size");
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		char *name = ptsname(m);
		s = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	}
	if (s < 0)
		step_failed(c, "open the container's pty");
	if (fchown(s, r->uid, (gid_t)-1) != 0)
		step_failed(c, "give the pty to the process's user");
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &m, sizeof m);
	ssize_t n;
	do
		n = sendmsg(c->pty_sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		step_failed(c, "hand the pty to the agent");
	if (close(m) != 0 || close(c->pty_sock) != 0)
		step_failed(c, "close the pty master");
	stdio[0] = stdio[1] = stdio[2] = s;
}

static int has_env(char *const *envp, const char *key)
{
	size_t n = strlen(key);
	for (; *envp; envp++)
		if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
			return 1;
	return 0;
}

static const char *get_env(char *const *envp, const char *key)
{
	size_t n = strlen(key);
	for (; *envp; envp++)
		if (strncmp(*envp, key, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* HOME from the root's /etc/passwd, as runc does; "/" when the uid has no entry. */
static char *passwd_home(uid_t uid)
{
	static char home[1024];
	snprintf(home, sizeof home, "/");
	FILE *f = fopen("/etc/passwd", "re");
	if (!f)
		return home;
	char line[2048];
	while (fgets(line, sizeof line, f)) {
		char *fields[7] = {0};
		char *p = line;
		int i = 0;
		for (; i < 7 && p; i++)
			fields[i] = strsep(&p, ":");
		if (i < 6 || !fields[2] || !fields[5])
			continue;
		char *end;
		unsigned long v = strtoul(fields[2], &end, 10);
		if (*fields[2] && *end == 0 && v == uid) {
			fields[5][strcspn(fields[5], "\n")] = 0;
			snprintf(home, sizeof home, "%s", fields[5]);
			break;
		}
	}
	fclose(f);
	return home;
}

static char **env_with_home(const struct child_spec *c)
{
	const struct start_req *r = c->req;
	if (has_env(r->envp, "HOME"))
		return r->envp;
	char **env = calloc(r->envc + 2, sizeof *env);
	char *home = passwd_home(r->uid);
	char *kv = malloc(strlen(home) + 6);
	if (!env || !kv)
		step_failed(c, "build environment");
	memcpy(env, r->envp, r->envc * sizeof *env);
	sprintf(kv, "HOME=%s", home);
	env[r->envc] = kv;
	return env;
}

static void set_credentials(const struct child_spec *c)
{
	const struct start_req *r = c->req;
	if (setgroups(r->ngroups, r->groups) != 0)
		step_failed(c, "setgroups");
	if (setgid(r->gid) != 0)
		step_failed(c, "setgid");
	if (setuid(r->uid) != 0)
		step_failed(c, "setuid");
}

/* Go's findExecutable: 0 when runnable, else an errno. */
static int check_exec(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EACCES;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0)
		return errno;
	return 0;
}

/* Resolves argv[0] like runc (Go's exec.LookPath): a name with a slash is used as is. */
static const char *look_path(const struct child_spec *c, char *const *envp)
{
	const char *name = c->req->argv[0];
	if (strchr(name, '/')) {
		int err = check_exec(name);
		if (err == EACCES)
			report(c, err, "exec: \"%s\": permission denied", name);
		if (err)
			report(c, err, "exec: \"%s\": stat %s: %s", name, name, errtext(err));
		return name;
	}
	const char *path = get_env(envp, "PATH");
	static char cand[4096];
	char *dirs = strdup(path ? path : DEFAULT_PATH);
	if (!dirs)
		step_failed(c, "look up executable");
	for (char *p = dirs, *d; (d = strsep(&p, ":")) != NULL;) {
		snprintf(cand, sizeof cand, "%s/%s", *d ? d : ".", name);
		if (check_exec(cand) == 0)
			return cand;
	}
	report(c, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

/* START with PORT: no program, the child is the relay (in the agent's namespaces: the VM's
 * network namespace is the pod's). A refused connection is the START's ERROR. */
static void forward_port(const struct child_spec *c) __attribute__((noreturn));
static void forward_port(const struct child_spec *c)
{
	uint16_t port = c->req->port;
	/* No exec to close the agent's descriptors: without this the child would hold its own
	 * stdin's write end (no EOF ever) and the agent's channel. */
	unsigned keep = (unsigned)c->report_fd;
	if ((keep > 3 && syscall(SYS_close_range, 3u, keep - 1, 0u) != 0) ||
	    syscall(SYS_close_range, keep + 1, ~0u, 0u) != 0)
		step_failed(c, "close the agent's descriptors");
	int sock = portfwd_dial(port);
	if (sock < 0) {
		int err = errno;
		report(c, err, "connect to localhost:%u in the pod VM: %s", port, errtext(err));
	}
	/* Connected: EOF on the report pipe tells the agent the process started. */
	close(c->report_fd);
	_exit(portfwd_relay(0, 1, sock) == 0 ? 0 : 1);
}

void child_run(const struct child_spec *c)
{
	const struct start_req *r = c->req;
	reset_signals(c);
	int stdio[3] = {c->stdio[0], c->stdio[1], c->stdio[2]};
	if (r->port) {
		setup_stdio(c, stdio);
		forward_port(c);
	}
	enter_namespaces(c);
	if (c->pty_sock >= 0)
		own_pty(c, stdio);
	setup_stdio(c, stdio);
	char **envp = env_with_home(c);
	set_credentials(c);
	if (chdir(r->cwd) != 0) {
		int err = errno;
		report(c, err, "chdir to cwd (\"%s\") set in config.json failed: %s", r->cwd,
		       errtext(err));
	}
	if (c->tool_fd >= 0) {
		/* ARG[0] names the program's applet (busybox): no PATH lookup. */
		fexecve(c->tool_fd, r->argv, envp);
		step_failed(c, "exec the program sent with TOOL");
	}
	const char *file = look_path(c, envp);
	execve(file, r->argv, envp);
	int err = errno;
	if (err == EACCES)
		report(c, err, "exec: \"%s\": permission denied", r->argv[0]);
	report(c, err, "exec: \"%s\": %s", r->argv[0], errtext(err));
}
