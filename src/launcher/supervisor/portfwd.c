#include "portfwd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void problem(struct portfwd *pf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct portfwd *pf, const char *fmt, ...)
{
	char msg[PF_SAID_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pf->problem)
		pf->problem(msg);
}

int portfwd_open(struct portfwd *pf, uint16_t port, const char *client, const char *start_b64,
		 void (*report)(const char *msg))
{
	memset(pf, 0, sizeof *pf);
	pf->fd = -1;
	pf->client = client;
	pf->problem = report;
	/* Built once: the child after fork only execs. */
	size_t n = strlen(PF_START_ENV) + 1 + strlen(start_b64) + 1;
	if (!(pf->envp[0] = malloc(n)) || !(pf->envp[1] = strdup(PF_PORT_ENV "=1"))) {
		problem(pf, "PortForward into this pod is unavailable: out of memory");
		return -1;
	}
	snprintf(pf->envp[0], n, "%s=%s", PF_START_ENV, start_b64);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
		int err = errno;
		problem(pf,
			"PortForward into this pod is unavailable: listening on 127.0.0.1:%u: %s",
			port, strerror(err));
		if (fd >= 0 && close(fd) != 0) {
		}
		errno = err;
		return -1;
	}
	pf->fd = fd;
	return 0;
}

static int free_slot(struct portfwd *pf)
{
	for (int i = 0; i < PF_MAX_STREAMS; i++)
		if (!pf->s[i].pid)
			return i;
	return -1;
}

/* The connection becomes the client's stdin and stdout; this process keeps no copy, so the
 * connection ends when the client does. Its stderr is a pipe read once it exited: the write end is
 * non-blocking, so a client that says more than the pipe holds loses words, never waits. */
static void start_stream(struct portfwd *pf, int conn, int slot)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		problem(pf, "port-forward: pipe: %s", strerror(errno));
		return;
	}
	int fl = fcntl(p[1], F_GETFL);
	if (fl < 0 || fcntl(p[1], F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(p[0], F_SETFL, O_NONBLOCK) != 0) {
		problem(pf, "port-forward: fcntl: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		problem(pf, "port-forward: starting %s: fork: %s", pf->client, strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		char *argv[] = {(char *)pf->client, NULL};
		if (dup2(conn, 0) < 0 || dup2(conn, 1) < 0 || dup2(p[1], 2) < 0 ||
		    sigprocmask(SIG_SETMASK, &none, NULL) != 0 ||
		    signal(SIGPIPE, SIG_DFL) == SIG_ERR)
			_exit(125);
		/* runcvm-init's signal pipe is the supervisor's alone. */
		close(3);
		execve(pf->client, argv, pf->envp);
		_exit(127);
	}
	if (close(p[1]) != 0)
		problem(pf, "port-forward: close: %s", strerror(errno));
	pf->s[slot] = (struct pf_stream){pid, p[0]};
	pf->active++;
}

void portfwd_accept(struct portfwd *pf)
{
	while (pf->fd >= 0) {
		/* Blocking for the client, as any socket it is given on stdin. */
		int conn = accept4(pf->fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				problem(pf, "port-forward: accept: %s", strerror(errno));
			return;
		}
		int slot = free_slot(pf);
		if (slot < 0) {
			if (pf->refused++ % 100 == 0)
				problem(pf, "port-forward: over %d streams at once, closed (%lu)",
					PF_MAX_STREAMS, pf->refused);
		} else
			start_stream(pf, conn, slot);
		if (close(conn) != 0)
			problem(pf, "port-forward: close: %s", strerror(errno));
	}
}

int portfwd_reaped(struct portfwd *pf, pid_t pid, int status)
{
	for (int i = 0; i < PF_MAX_STREAMS; i++) {
		struct pf_stream *s = &pf->s[i];
		if (s->pid != pid || !pid)
			continue;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (code != 0) {
			char said[PF_SAID_MAX + 1];
			ssize_t n = read(s->errfd, said, PF_SAID_MAX);
			said[n > 0 ? n : 0] = 0;
			/* One line: the client's words with their blanks squeezed. */
			char *w = said;
			for (char *r = said; *r; r++)
				if (!(*r == ' ' || *r == '\n' || *r == '\t' || *r == '\r') ||
				    (w > said && w[-1] != ' '))
					*w++ = (*r == '\n' || *r == '\t' || *r == '\r') ? ' ' : *r;
			while (w > said && w[-1] == ' ')
				w--;
			*w = 0;
			problem(pf, "port-forward stream ended with status %d: %s", code, said);
		}
		if (close(s->errfd) != 0)
			problem(pf, "port-forward: close: %s", strerror(errno));
		*s = (struct pf_stream){0, -1};
		pf->active--;
		return 1;
	}
	return 0;
}

void portfwd_close(struct portfwd *pf)
{
	if (pf->fd >= 0 && close(pf->fd) != 0)
		problem(pf, "port-forward: close: %s", strerror(errno));
	pf->fd = -1;
}
