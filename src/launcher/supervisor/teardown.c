#include "teardown.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
	struct timespec ts = {0, 10 * 1000000};
	nanosleep(&ts, NULL);
}

int teardown_kill(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0 && kill(pids[i], SIGKILL) != 0 && errno == ESRCH)
			pids[i] = 0;
	long long deadline = now_ms() + TEARDOWN_WAIT_MS;
	for (;;) {
		int left = 0;
		for (int i = 0; i < n; i++) {
			if (pids[i] <= 0)
				continue;
			int st;
			pid_t r = waitpid(pids[i], &st, WNOHANG);
			if (r == pids[i] || (r < 0 && errno == ECHILD))
				pids[i] = 0;
			else
				left++;
		}
		if (!left || now_ms() >= deadline)
			return left;
		nap();
	}
}

static int status_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int teardown_run(char *const argv[], int timeout_ms, char *out, size_t cap)
{
	out[0] = 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		errno = err;
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0 ||
		    sigprocmask(SIG_SETMASK, &none, NULL) != 0 ||
		    signal(SIGPIPE, SIG_DFL) == SIG_ERR)
			_exit(125);
		close(3); /* runcvm-init's signal pipe is the supervisor's alone */
		execvp(argv[0], argv);
		_exit(127);
	}
	int err = close(p[1]) != 0 ? errno : 0;
	/* Non-blocking: a grandchild that kept the pipe open cannot hold the teardown. */
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0 && !err)
		err = errno;
	size_t have = 0;
	long long deadline = now_ms() + timeout_ms;
	int open_ = 1, st = 0, done = 0;
	while (!done) {
		long long left = deadline - now_ms();
		if (left <= 0) {
			/* Bounded: a command that hangs (a held xtables lock) is killed. */
			if (kill(pid, SIGKILL) != 0 && errno != ESRCH)
				err = errno;
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
			}
			break;
		}
		if (open_) {
			struct pollfd pf = {p[0], POLLIN, 0};
			int r = poll(&pf, 1, (int)(left > 50 ? 50 : left));
			if (r > 0) {
				char buf[512];
				ssize_t n = read(p[0], buf, sizeof buf);
				if (n <= 0 && !(n < 0 && errno == EINTR))
					open_ = 0;
				else if (n > 0 && have + 1 < cap) {
					size_t k = (size_t)n < cap - 1 - have ? (size_t)n
									      : cap - 1 - have;
					memcpy(out + have, buf, k);
					have += k;
				}
			}
		} else
			nap();
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			done = 1;
	}
	/* What it wrote just before it exited. */
	for (ssize_t n = 1; open_ && n > 0 && have + 1 < cap;) {
		n = read(p[0], out + have, cap - 1 - have);
		if (n > 0)
			have += (size_t)n;
	}
	out[have] = 0;
	if (close(p[0]) != 0 && !err)
		err = errno;
	(void)err; /* the command's status is what matters; a pipe close cannot change it */
	return status_of(st);
}
