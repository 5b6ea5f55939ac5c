#include "vmstart.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static long long mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* In the child: every descriptor from 3 up closed (the signal pipe, the supervisor's pipes). */
static int close_from_3(void)
{
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close(fd);
	return 0;
}

pid_t vmstart_spawn(char *const argv[], int out_fd, int err_fd, const sigset_t *mask, char *err,
		    size_t errlen)
{
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork for %s: %s", argv[0], strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* The child: single-threaded after fork, so stdio is usable until exec. */
	const char *step = "open /dev/null";
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		goto fail;
	step = "set up stdin, stdout, stderr";
	if (dup2(null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : null, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	step = "close inherited descriptors";
	if (close_from_3() != 0)
		goto fail;
	step = "restore signals";
	if (sigprocmask(SIG_SETMASK, mask, NULL) != 0 || signal(SIGPIPE, SIG_DFL) == SIG_ERR)
		goto fail;
	execv(argv[0], argv);
	step = "exec";
fail:
	dprintf(2, "runcvm: supervisor: %s %s: %s\n", step, argv[0], strerror(errno));
	_exit(127);
}

int vmstart_wait_socket(pid_t pid, const char *path, int err_read, long timeout_ms, char *err,
			size_t errlen)
{
	long long end = mono_now_ms() + timeout_ms;
	const struct timespec poll = {0, VMSTART_POLL_MS * 1000000L};
	for (;;) {
		struct stat st;
		if (lstat(path, &st) == 0) {
			if (S_ISSOCK(st.st_mode))
				return 0;
			snprintf(err, errlen, "%s is not a socket", path);
			return -1;
		}
		if (errno != ENOENT) {
			snprintf(err, errlen, "stat %s: %s", path, strerror(errno));
			return -1;
		}
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w < 0) {
			snprintf(err, errlen, "waitpid %d: %s", (int)pid, strerror(errno));
			return -1;
		}
		if (w == pid) {
			char tail[1024];
			ssize_t n = -1;
			int fl = fcntl(err_read, F_GETFL);
			if (fl >= 0 && fcntl(err_read, F_SETFL, fl | O_NONBLOCK) == 0)
				n = read(err_read, tail, sizeof tail - 1);
			tail[n > 0 ? n : 0] = 0;
			while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
				tail[--n] = 0;
			snprintf(err, errlen, "virtiofsd exited (%s %d) before making %s: %s",
				 WIFEXITED(status) ? "status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), path,
				 n > 0 ? tail : "(no output)");
			return -1;
		}
		if (mono_now_ms() >= end) {
			snprintf(err, errlen, "virtiofsd made no socket at %s in %ld ms", path,
				 timeout_ms);
			return -1;
		}
		nanosleep(&poll, NULL);
	}
}
