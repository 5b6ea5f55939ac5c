/* runcvm-init: PID 1 of a runcvm container, in front of the Node launcher.
 *
 * docker stop/kill signal the container's PID 1, and any signal may be meant for the workload in
 * the guest, real-time ones included (systemd stops on SIGRTMIN+3). Node cannot install handlers
 * for real-time signals, and a PID 1 without a handler ignores them, so this program takes every
 * signal and passes its number to the launcher through a pipe (the launcher's fd 3). It reaps
 * orphans and exits with the launcher's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIGNAL_FD 3

static void die(const char *what)
{
	fprintf(stderr, "runcvm-init: %s: %s\n", what, strerror(errno));
	_exit(125);
}

/* Signals that are not the workload's: child bookkeeping, the tty's size (the launcher gets
 * SIGWINCH itself as a member of the foreground process group) and broken pipes. */
static int local_only(int sig)
{
	return sig == SIGCHLD || sig == SIGWINCH || sig == SIGPIPE;
}

static pid_t start_launcher(char **argv, int *wfd, const sigset_t *old)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* dup2 onto itself would keep O_CLOEXEC: the pipe's read end is often fd 3 already.
		 */
		if (p[0] == SIGNAL_FD ? fcntl(p[0], F_SETFD, 0) != 0 : dup2(p[0], SIGNAL_FD) < 0)
			die("pass the signal pipe as fd 3");
		if (sigprocmask(SIG_SETMASK, old, NULL) != 0)
			die("sigprocmask");
		if (setenv("RUNCVM_SIGNAL_FD", "3", 1) != 0)
			die("setenv");
		execv(argv[0], argv);
		die(argv[0]);
	}
	close(p[0]);
	*wfd = p[1];
	return pid;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: runcvm-init LAUNCHER [ARG...]\n");
		return 2;
	}
	/* Under TCG create asks (RUNCVM_THP_DISABLE=1): no transparent huge pages for the launcher,
	 * virtiofsd and QEMU, which inherit it. QEMU madvises its translation cache for huge pages,
	 * and zeroing each 2 MiB page the boot touches cost 2-11 % of its CPU time to boot
	 * (docs/performance.md, "Start path"). Only speed is at stake: a failure is said, not
	 * fatal. */
	const char *thp = getenv("RUNCVM_THP_DISABLE");
	if (thp && strcmp(thp, "1") == 0 && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0)
		fprintf(stderr, "runcvm-init: turning transparent huge pages off: %s\n",
			strerror(errno));
	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) != 0)
		die("sigprocmask");
	int wfd;
	pid_t launcher = start_launcher(argv + 1, &wfd, &old);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			die("sigwaitinfo");
		}
		if (!local_only(sig)) {
			unsigned char b = (unsigned char)sig;
			if (write(wfd, &b, 1) != 1 && errno != EPIPE)
				fprintf(stderr, "runcvm-init: forwarding signal %d: %s\n", sig,
					strerror(errno));
			continue;
		}
		if (sig != SIGCHLD)
			continue;
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid != launcher)
				continue;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		if (pid < 0 && errno != ECHILD)
			die("waitpid");
	}
}
