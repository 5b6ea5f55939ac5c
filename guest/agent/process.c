#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "config.h"
#include "cgstats.h"
#include "container.h"
#include "exec.h"
#include "flush.h"
#include "livewb.h"
#include "clock.h"
#include "log.h"
#include "writeback.h"
#include "proto.h"

#define STDIN_BACKLOG_MAX (16u << 20)

struct proc {
	uint32_t id;
	pid_t pid;
	int exited, status;
	int terminal;
	char *container; /* the first process of this pod-VM container (CONTAINER), else NULL */
	int in_fd, out_fd, err_fd;
	int out_eof_sent, err_eof_sent;
	/* Bytes each output stream may still send before the host grants more (WINDOW). At 0 the
	 * pipe is not read, so the process blocks on it: a stopped reader on the host pauses it. */
	uint32_t out_credit, err_credit;
	uint8_t *inq; /* stdin the process has not taken yet */
	size_t inq_len, inq_off;
	int in_eof; /* close stdin once inq is drained */
	/* START with TOOL: not forked yet; the program's bytes arrive as STDIN into tool_fd. */
	int pending;
	int tool_fd;
	uint32_t tool_left;
	struct start_req req; /* kept until the pending process starts */
	struct proc *next;
};

/* The roles of the fds procs_fill_poll handed out, in pollfd order. */
struct poll_ref {
	struct proc *p;
	int which; /* 0 stdin, 1 stdout, 2 stderr */
};

int procs_init(struct procs *t, struct ctrs *ctrs, struct chan *ch, struct imgroot *ir)
{
	t->ir = ir;
	t->ctrs = ctrs;
	t->ch = ch;
	t->list = NULL;
	t->n = t->nrefs_cap = t->backlog = 0;
	t->refs = NULL;
	t->init_pidns = t->init_mntns = -1;
	t->init_done = 0;
	/* Kept so pid_for_children can be reset after forking into another PID namespace. */
	t->root_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (t->root_pidns < 0) {
		log_error("open /proc/self/ns/pid: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int procs_init_done(struct procs *t)
{
	return t->init_done;
}

void procs_set_init_done(struct procs *t)
{
	t->init_done = 1;
}
int procs_stdin_backlogged(struct procs *t)
{
	return t->backlog > STDIN_BACKLOG_MAX;
}
size_t procs_poll_max(struct procs *t)
{
	return t->n * 3;
}

static struct proc *find(struct procs *t, uint32_t id)
{
	for (struct proc *p = t->list; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0 && close(*fd) != 0)
		log_debug("close fd %d: %s", *fd, strerror(errno));
	*fd = -1;
}

static void drop_stdin(struct procs *t, struct proc *p)
{
	t->backlog -= p->inq_len - p->inq_off;
	free(p->inq);
	p->inq = NULL;
	p->inq_len = p->inq_off = 0;
	close_fd(&p->in_fd);
}

static void unlink_proc(struct procs *t, struct proc *p)
{
	for (struct proc **pp = &t->list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	t->n--;
	drop_stdin(t, p);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	if (p->pending) {
		close_fd(&p->tool_fd);
		start_free(&p->req);
	}
	free(p->container);
	free(p);
}

static void send_eof(struct procs *t, struct proc *p, int which)
{
	int *sent = which == 1 ? &p->out_eof_sent : &p->err_eof_sent;
	if (!*sent)
		proto_send(t->ch, which == 1 ? MSG_STDOUT : MSG_STDERR, p->id, NULL, 0, NULL, 0);
	*sent = 1;
}

/* reboot(2) in a child PID namespace ends its init as if killed by SIGINT (power off, halt) or
 * SIGHUP (restart); nothing else can, since the kernel drops every signal but SIGKILL and SIGSTOP
 * that the namespace's init has no handler for. That is how systemd ends after `docker stop`
 * (SIGRTMIN+3): the VM powering off is a clean end, exit 0 as under runc, where systemd's reboot(2)
 * fails for lack of CAP_SYS_BOOT and it exits 0. */
static int pidns_rebooted(int status)
{
	return WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGHUP);
}

/* EXIT goes out only after both EOFs: the host may then drop its side of the process. */
static void maybe_finish(struct procs *t, struct proc *p)
{
	if (!p->exited || p->out_fd >= 0 || p->err_fd >= 0)
		return;
	send_eof(t, p, 1);
	send_eof(t, p, 2);
	uint8_t b[8] = {0};
	int32_t value;
	if (p->id == 1 && pidns_rebooted(p->status)) {
		log_info("process 1 powered off or rebooted its PID namespace: exit status 0");
		value = 0;
	} else if (WIFSIGNALED(p->status)) {
		b[0] = EXIT_KIND_SIGNALED;
		value = WTERMSIG(p->status);
	} else {
		value = WEXITSTATUS(p->status);
	}
	put_u32(b + 4, (uint32_t)value);
	/* A pod-VM container's OOM kill is its own (its cgroup's), reported with its EXIT. */
	if (p->container && container_exited(t->ctrs, p->container))
		b[1] |= EXIT_FLAG_OOM_KILLED;
	log_debug("process %u (pid %d) done: kind %u value %d", p->id, p->pid, b[0], value);
	/* Before EXIT: the host stops the container once it has the status, and the container's
	 * layer must hold the guest's changes by then (image root). When that fails, the drive
	 * keeps the changes and the host's delete writes them back again. */
	if (p->id == 1 && writeback_run(t->ir) != 0)
		b[1] = EXIT_FLAG_WRITEBACK_FAILED;
	proto_send(t->ch, MSG_EXIT, p->id, b, sizeof b, NULL, 0);
	if (p->id == 1)
		clock_mark("process 1 EXIT sent");
	if (p->id == 1) {
		t->init_done = 1;
		close_fd(&t->init_pidns);
		close_fd(&t->init_mntns);
	}
	unlink_proc(t, p);
}

void procs_reap(struct procs *t)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno != ECHILD)
			log_error("waitpid: %s", strerror(errno));
		if (pid <= 0)
			break;
		struct proc *p = t->list;
		while (p && !(p->pid == pid && !p->exited))
			p = p->next;
		if (!p && (flush_reaped(t->ir, pid, st) || livewb_reaped(t->ir, pid, st)))
			continue;
		if (!p) {
			log_debug("reaped orphan pid %d", pid);
			continue;
		}
		p->exited = 1;
		p->status = st;
		if (p->id == 1)
			clock_mark("process 1 reaped");
	}
	for (struct proc *p = t->list, *next; p; p = next) {
		next = p->next;
		maybe_finish(t, p);
	}
}

/* Writes as much queued stdin as the pipe or pty takes now; never blocks. */
static void flush_stdin(struct procs *t, struct proc *p)
{
	while (p->in_fd >= 0 && p->inq_off < p->inq_len) {
		ssize_t n = write(p->in_fd, p->inq + p->inq_off, p->inq_len - p->inq_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* EPIPE: the process closed its stdin; the rest has nowhere to go. */
			log_debug("process %u stdin: %s", p->id, strerror(errno));
			drop_stdin(t, p);
			return;
		}
		p->inq_off += (size_t)n;
		t->backlog -= (size_t)n;
	}
	free(p->inq);
	p->inq = NULL;
	p->inq_len = p->inq_off = 0;
	/* With a pty this closes only our dup of the master: a pty has no half-close, so
	 * EOF there is the user's ^D, as with runc. */
	if (p->in_eof)
		close_fd(&p->in_fd);
}

static void tool_stdin(struct procs *t, struct proc *p, const uint8_t *data, uint32_t len);

void procs_stdin(struct procs *t, uint32_t id, const uint8_t *data, uint32_t len)
{
	struct proc *p = find(t, id);
	if (p && p->pending) {
		tool_stdin(t, p, data, len);
		return;
	}
	if (!p || p->in_fd < 0) {
		log_debug("stdin for process %u dropped: not running or stdin closed", id);
		return;
	}
	if (len == 0) {
		p->in_eof = 1;
		flush_stdin(t, p);
		return;
	}
	size_t pending = p->inq_len - p->inq_off;
	uint8_t *q = malloc(pending + len);
	if (!q) {
		log_error("queue %u bytes of stdin for process %u: %s", len, id, strerror(errno));
		return;
	}
	memcpy(q, p->inq + p->inq_off, pending);
	memcpy(q + pending, data, len);
	free(p->inq);
	p->inq = q;
	p->inq_off = 0;
	p->inq_len = pending + len;
	t->backlog += len;
	flush_stdin(t, p);
}

static void read_output(struct procs *t, struct proc *p, int which)
{
	uint8_t *buf = t->out_buf;
	int *fd = which == 1 ? &p->out_fd : &p->err_fd;
	uint32_t *credit = which == 1 ? &p->out_credit : &p->err_credit;
	size_t want = *credit < sizeof t->out_buf ? *credit : sizeof t->out_buf;
	if (want == 0)
		return; /* no credit: the pipe keeps the rest until the host grants more */
	ssize_t n;
	do
		n = read(*fd, buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0) {
		*credit -= (uint32_t)n;
		proto_send(t->ch, which == 1 ? MSG_STDOUT : MSG_STDERR, p->id, buf, (size_t)n, NULL,
			   0);
		return;
	}
	/* A pty master reports the last slave close as EIO: that is its EOF. */
	if (n < 0 && !(p->terminal && errno == EIO))
		log_error("read output of process %u: %s", p->id, strerror(errno));
	close_fd(fd);
	if (p->terminal)
		drop_stdin(t, p); /* its fd is a dup of the same master */
	send_eof(t, p, which);
}

size_t procs_fill_poll(struct procs *t, struct pollfd *pfd, size_t max)
{
	if (t->nrefs_cap < max) {
		struct poll_ref *r = realloc(t->refs, max * sizeof *t->refs);
		if (!r) {
			log_error("grow poll table: %s", strerror(errno));
			return 0;
		}
		t->refs = r;
		t->nrefs_cap = max;
	}
	size_t n = 0;
	for (struct proc *p = t->list; p && n + 3 <= max; p = p->next) {
		int fds[3] = {p->inq_len > p->inq_off ? p->in_fd : -1,
			      p->out_credit ? p->out_fd : -1, p->err_credit ? p->err_fd : -1};
		for (int w = 0; w < 3; w++) {
			if (fds[w] < 0)
				continue;
			pfd[n] = (struct pollfd){fds[w], (short)(w == 0 ? POLLOUT : POLLIN), 0};
			t->refs[n++] = (struct poll_ref){p, w};
		}
	}
	return n;
}

void procs_handle_poll(struct procs *t, const struct pollfd *pfd, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		struct poll_ref r = t->refs[i];
		/* An earlier entry may have closed this fd (pty stdin/stdout share a master). */
		int cur = r.which == 0 ? r.p->in_fd : r.which == 1 ? r.p->out_fd : r.p->err_fd;
		if (cur != pfd[i].fd)
			continue;
		if (r.which == 0)
			flush_stdin(t, r.p);
		else
			read_output(t, r.p, r.which);
	}
	/* Finishing frees processes, so it waits until every ref has been used. */
	for (struct proc *p = t->list, *next; p; p = next) {
		next = p->next;
		maybe_finish(t, p);
	}
}

void procs_signal(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len)
{
	struct proc *p = find(t, id);
	if (len != 4) {
		log_warn("SIGNAL for process %u with %u byte payload", id, len);
		return;
	}
	int sig = (int)get_u32(payload);
	if (p && p->pending) {
		/* Not forked yet: SIGKILL (the client went away) cancels it, anything else waits
		 * for nobody. */
		if (sig == SIGKILL) {
			proto_send_error(t->ch, id, EINTR, "killed before its program arrived");
			unlink_proc(t, p);
		}
		return;
	}
	if (!p || p->exited) {
		log_debug("signal %d for process %u dropped: not running", sig, id);
		return;
	}
	if (kill(p->pid, sig) != 0)
		log_warn("kill(%d, %d) for process %u: %s", p->pid, sig, id, strerror(errno));
}

/* Credit is capped at the window: an honest host never grants more than was sent, so more is a
 * host bug, and capping keeps the guest's promise (at most one window unacknowledged). */
static void add_credit(uint32_t *credit, uint32_t grant)
{
	uint32_t room = STREAM_WINDOW - *credit;
	if (grant > room)
		log_warn("WINDOW grants %u bytes with room for %u: capped at the window", grant,
			 room);
	*credit += grant < room ? grant : room;
}

void procs_window(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len)
{
	struct proc *p = find(t, id);
	if (len < 8) {
		log_warn("WINDOW for process %u with %u byte payload", id, len);
		return;
	}
	if (!p) {
		log_debug("WINDOW for process %u dropped: not running", id);
		return;
	}
	add_credit(&p->out_credit, get_u32(payload));
	add_credit(&p->err_credit, get_u32(payload + 4));
}

void procs_resize(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len)
{
	struct proc *p = find(t, id);
	if (len != 4 || !p || !p->terminal || p->out_fd < 0) {
		log_debug("RESIZE for process %u ignored", id);
		return;
	}
	struct winsize ws = {.ws_row = get_u16(payload), .ws_col = get_u16(payload + 2)};
	if (ioctl(p->out_fd, TIOCSWINSZ, &ws) != 0)
		log_warn("resize terminal of process %u: %s", id, strerror(errno));
}

/* The agent's ends go in agent[] (stdin, stdout, stderr), the child's in child[]. */
static int make_pipes(int agent[3], int child[3], struct agent_err *e)
{
	for (int i = 0; i < 3; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) != 0)
			return agent_err_sys(e, errno, "start process: pipe");
		agent[i] = i == 0 ? p[1] : p[0];
		child[i] = i == 0 ? p[0] : p[1];
		if (fcntl(agent[i], F_SETFL, O_NONBLOCK) != 0)
			return agent_err_sys(e, errno, "start process: set pipe non-blocking");
	}
	return 0;
}

static int make_pty(const struct start_req *r, int agent[3], int child[3], struct agent_err *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0)
		return agent_err_sys(e, errno, "start process: posix_openpt");
	agent[1] = m;
	struct winsize ws = {.ws_row = r->rows, .ws_col = r->cols};
	if (grantpt(m) != 0 || unlockpt(m) != 0 || (r->rows && ioctl(m, TIOCSWINSZ, &ws) != 0))
		return agent_err_sys(e, errno, "start process: set up pty");
	/* TIOCGPTPEER opens the slave of this very devpts instance, whatever /dev/pts is. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		char *name = ptsname(m);
		s = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	}
	agent[0] = dup(m);
	if (s < 0 || agent[0] < 0) {
		agent_err_sys(e, errno, "start process: open pty slave");
		if (s >= 0)
			close(s);
		return -1;
	}
	if (fcntl(agent[0], F_SETFD, FD_CLOEXEC) != 0)
		log_warn("set FD_CLOEXEC on pty: %s", strerror(errno));
	child[0] = child[1] = child[2] = s;
	return 0;
}

/* The master of a pty the child opened in its container (exec.c own_pty), or -1 when the child
 * ended first (its report says why). */
static int receive_pty(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf};
	ssize_t n;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (n < 0)
		log_warn("receive the container's pty: %s", strerror(errno));
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int m;
	memcpy(&m, CMSG_DATA(cm), sizeof m);
	if (fcntl(m, F_SETFL, O_NONBLOCK) != 0)
		log_warn("set the container's pty non-blocking: %s", strerror(errno));
	return m;
}

/* Takes the master of the child's pty as the agent's stdin and stdout ends (as make_pty). */
static void adopt_pty(int m, int agent[3])
{
	agent[1] = m;
	agent[0] = fcntl(m, F_DUPFD_CLOEXEC, 0);
	if (agent[0] < 0)
		log_warn("dup the container's pty: %s (its stdin is lost)", strerror(errno));
}

/* The process's stdio: pipes, a pty of the VM's devpts, or, for a pod-VM container's terminal,
 * a socket pair on which the child sends the pty it opens in the container's own devpts
 * (receive_pty). 0, or -1 with e filled. */
static int make_stdio(const struct start_req *r, int agent[3], int child[3], int ps[2],
		      struct agent_err *e)
{
	if (!r->terminal)
		return make_pipes(agent, child, e);
	if (!r->container && !r->join)
		return make_pty(r, agent, child, e);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ps) != 0)
		return agent_err_sys(e, errno, "start process: pty socket");
	return 0;
}

static void close_all(int fds[3])
{
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0 && (i == 0 || fds[i] != fds[i - 1]))
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Forks with pid_for_children set to the target namespace (join_fd < 0: a new one), then resets
 * it. */
static pid_t fork_in_pidns(struct procs *t, int join_fd, struct agent_err *e)
{
	int rc = join_fd < 0 ? unshare(CLONE_NEWPID) : setns(join_fd, CLONE_NEWPID);
	if (rc != 0)
		return agent_err_sys(e, errno, "start process: enter PID namespace");
	pid_t pid = fork();
	int err = errno;
	/* The process has started (or not) either way: a failed reset only affects later ones. */
	if (pid != 0 && setns(t->root_pidns, CLONE_NEWPID) != 0)
		log_error("reset PID namespace for children: %s", strerror(errno));
	if (pid < 0)
		agent_err_sys(e, err, "start process");
	return pid;
}

/* Waits for the child to exec (EOF on the report pipe) or to report why it could not. */
static int await_exec(int fd, pid_t pid, struct agent_err *rep)
{
	ssize_t n;
	do
		n = read(fd, rep, sizeof *rep);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof *rep) {
		rep->errnum = n < 0 ? errno : EIO;
		snprintf(rep->msg, sizeof rep->msg, "read exec status: %s", strerror(rep->errnum));
	}
	rep->msg[sizeof rep->msg - 1] = 0;
	/* The child has nothing more to say: collect it here, before the SIGCHLD loop does. */
	if (waitpid(pid, NULL, 0) < 0)
		log_warn("waitpid %d: %s", pid, strerror(errno));
	return -1;
}

/* Opened at the first exec, not at process 1's start: 5-10 ms of /proc work under TCG that a
 * container without `docker exec` never needs, and what runc does too (an exec joins the
 * namespaces process 1 has then). */
static void remember_init_ns(struct procs *t, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", pid);
	t->init_pidns = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
	t->init_mntns = open(path, O_RDONLY | O_CLOEXEC);
	if (t->init_pidns < 0 || t->init_mntns < 0) {
		/* Both or neither: the next exec tries again. */
		log_warn("open namespaces of process 1 (pid %d): %s", pid, strerror(errno));
		close_fd(&t->init_pidns);
		close_fd(&t->init_mntns);
	}
}

/* tool_fd: the program to run (TOOL), else -1. A debug process stays in the agent's namespaces. */
static struct proc *spawn(struct procs *t, uint32_t id, const struct start_req *r,
			  struct agent_err *rep, int tool_fd)
{
	int agent[3] = {-1, -1, -1}, child[3] = {-1, -1, -1}, rp[2] = {-1, -1}, ps[2] = {-1, -1};
	struct proc *p = calloc(1, sizeof *p);
	int ok = p ? make_stdio(r, agent, child, ps, rep) == 0
		   : agent_err_sys(rep, ENOMEM, "start process") == 0;
	if (ok && pipe2(rp, O_CLOEXEC) != 0)
		ok = agent_err_sys(rep, errno, "start process: report pipe") == 0;
	/* Process 1 and a pod-VM container get a PID namespace of their own; an exec joins its
	 * container's (JOIN) or process 1's. */
	int own_ns = id == 1 || (r->container && !r->share_pid);
	int join_pidns = own_ns ? -1 : r->join ? container_pidns(t->ctrs, r->join) : t->init_pidns;
	pid_t pid = !ok ? -1 : r->debug || r->port ? fork() : fork_in_pidns(t, join_pidns, rep);
	if (pid == 0) {
		log_port_enable(0);
		struct child_spec cs = {r,
					id == 1,
					r->debug || r->port || own_ns || r->container || r->join
						? -1
						: t->init_mntns,
					{child[0], child[1], child[2]},
					r->terminal,
					rp[1],
					tool_fd,
					t->ctrs,
					ps[1]};
		child_run(&cs);
	}
	int err = errno;
	close_all(child);
	if (rp[1] >= 0)
		close(rp[1]);
	if (ps[1] >= 0)
		close(ps[1]);
	if (pid > 0 && ps[0] >= 0) {
		int m = receive_pty(ps[0]);
		if (m >= 0)
			adopt_pty(m, agent);
	}
	if (ps[0] >= 0)
		close(ps[0]);
	if (pid < 0 || await_exec(rp[0], pid, rep) != 0) {
		if (pid < 0 && ok && r->debug)
			agent_err_sys(rep, err, "start process");
		if (rp[0] >= 0)
			close(rp[0]);
		close_all(agent);
		free(p);
		return NULL;
	}
	close(rp[0]);
	*p = (struct proc){.id = id,
			   .pid = pid,
			   .container = r->container ? strdup(r->container) : NULL,
			   .terminal = r->terminal,
			   .in_fd = agent[0],
			   .out_fd = agent[1],
			   .err_fd = agent[2],
			   .out_credit = STREAM_WINDOW,
			   .err_credit = STREAM_WINDOW};
	return p;
}

/* Whether START id can run now: 0, or -1 with the reason in e. */
static int refusal(struct procs *t, uint32_t id, struct agent_err *e)
{
	if (id == 0)
		return agent_err_set(e, EEXIST, "process id 0 is reserved");
	if (find(t, id) || (id == 1 && t->init_done))
		return agent_err_set(e, EEXIST, "process id already in use");
	struct proc *init = find(t, 1);
	if (id != 1 && init && !init->exited && t->init_pidns < 0)
		remember_init_ns(t, init->pid);
	/* Once process 1 is gone its PID namespace cannot take new members. */
	if (id != 1 && (!init || init->exited || t->init_pidns < 0 || t->init_mntns < 0))
		return agent_err_set(e, ESRCH, "process 1 is not running");
	return 0;
}

/* Registers a process that has started and tells the host its pid. */
static void add_started(struct procs *t, struct proc *p)
{
	p->next = t->list;
	t->list = p;
	t->n++;
	uint8_t b[4];
	put_u32(b, (uint32_t)p->pid);
	proto_send(t->ch, MSG_STARTED, p->id, b, 4, NULL, 0);
	log_debug("process %u started: pid %d", p->id, p->pid);
	if (p->id == 1)
		clock_mark("process 1 started");
}

static void tool_fail(struct procs *t, struct proc *p, const struct agent_err *e)
{
	proto_send_agent_err(t->ch, p->id, e);
	unlink_proc(t, p);
}

/* The program is complete: seal it (the process cannot change what runs), start it in p's place. */
static void start_tool(struct procs *t, struct proc *p)
{
	if (fcntl(p->tool_fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
		log_warn("seal the program of process %u: %s", p->id, strerror(errno));
	struct agent_err rep = {0};
	struct proc *np = spawn(t, p->id, &p->req, &rep, p->tool_fd);
	if (!np) {
		tool_fail(t, p, &rep);
		return;
	}
	unlink_proc(t, p);
	add_started(t, np);
}

/* A TOOL process's first tool_size STDIN bytes are its program; what follows is its stdin. */
static void tool_stdin(struct procs *t, struct proc *p, const uint8_t *data, uint32_t len)
{
	struct agent_err e;
	if (len == 0) {
		agent_err_set(&e, EPIPE,
			      "stdin ended %u bytes before the end of the program (TOOL)",
			      p->tool_left);
		tool_fail(t, p, &e);
		return;
	}
	uint32_t id = p->id, take = len < p->tool_left ? len : p->tool_left;
	for (uint32_t off = 0; off < take;) {
		ssize_t n = write(p->tool_fd, data + off, take - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				agent_err_sys(&e, errno, "store the program (TOOL)");
			else
				agent_err_set(&e, EIO, "store the program (TOOL): short write");
			tool_fail(t, p, &e);
			return;
		}
		off += (uint32_t)n;
	}
	p->tool_left -= take;
	if (p->tool_left > 0)
		return;
	start_tool(t, p);
	if (take < len)
		procs_stdin(t, id, data + take, len - take);
}

/* START with TOOL: nothing runs until the program has arrived on STDIN. */
static int add_pending(struct procs *t, uint32_t id, struct start_req *r, struct agent_err *e)
{
	struct proc *p = calloc(1, sizeof *p);
	int fd = memfd_create("runcvm-tool", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (!p || fd < 0) {
		agent_err_sys(e, errno ? errno : ENOMEM, "hold the program (TOOL)");
		free(p);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*p = (struct proc){.id = id,
			   .terminal = r->terminal,
			   .in_fd = -1,
			   .out_fd = -1,
			   .err_fd = -1,
			   .pending = 1,
			   .tool_fd = fd,
			   .tool_left = r->tool_size,
			   .req = *r};
	memset(r, 0, sizeof *r); /* the request now belongs to p */
	p->next = t->list;
	t->list = p;
	t->n++;
	log_debug("process %u waits for its %u-byte program", id, p->tool_left);
	return 0;
}

int procs_start(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len)
{
	struct agent_err rep = {0};
	if (refusal(t, id, &rep) != 0) {
		/* A refused START leaves the running processes (and the VM) alone. */
		proto_send_agent_err(t->ch, id, &rep);
		return 0;
	}
	struct start_req r;
	struct proc *p = NULL;
	int pending = 0;
	if (start_parse(payload, len, &r, &rep) != 0) {
		/* rep is filled */
	} else if (id == 1 && (r.debug || r.tool_size || r.port)) {
		agent_err_set(&rep, EINVAL, "process 1 cannot be a debug, TOOL or PORT process");
	} else if ((r.debug || r.tool_size) && (r.container || r.join)) {
		agent_err_set(&rep, EINVAL,
			      "a debug process cannot be a pod container or join one");
	} else if (r.tool_size) {
		pending = add_pending(t, id, &r, &rep) == 0;
	} else if (id == 1 && (r.container || r.join || r.update || r.stats)) {
		agent_err_set(&rep, EINVAL, "process 1 cannot be a pod container");
	} else if (r.update) {
		/* No process: the answer is EXIT 0 once the limits are written, else ERROR. */
		if (container_update(t->ctrs, &r, &rep) == 0) {
			log_debug("container %s: limits updated (process %u)", r.update, id);
			uint8_t b[8] = {0};
			proto_send(t->ch, MSG_EXIT, id, b, sizeof b, NULL, 0);
			start_free(&r);
			return 0;
		}
	} else if (r.stats) {
		/* No process: STATS with the figures, then EXIT 0; or ERROR. */
		uint8_t b[CGSTATS_MAX];
		size_t n = 0;
		if (container_stats(t->ctrs, r.stats, b, &n, &rep) == 0) {
			uint8_t status[8] = {0};
			proto_send(t->ch, MSG_STATS, id, b, n, NULL, 0);
			proto_send(t->ch, MSG_EXIT, id, status, sizeof status, NULL, 0);
			start_free(&r);
			return 0;
		}
	} else if (r.join && container_pidns(t->ctrs, r.join) < 0) {
		agent_err_set(&rep, ESRCH, "container %s is not running", r.join);
	} else if (!r.container || container_prepare(t->ctrs, &r, &rep) == 0) {
		p = spawn(t, id, &r, &rep, -1);
		if (p && r.container && !p->container) {
			/* Without its name its exit could not be reported as its own: stop it. */
			if (kill(p->pid, SIGKILL) != 0)
				log_error("kill pid %d: %s", p->pid, strerror(errno));
			log_error("remember container %s: %s", r.container, strerror(ENOMEM));
		}
		if (!p && r.container)
			container_discard(r.container);
		if (p && r.container)
			container_started(t->ctrs, r.container, p->pid);
	}
	start_free(&r);
	if (pending)
		return 0;
	if (!p) {
		proto_send_agent_err(t->ch, id, &rep);
		return id == 1 ? -1 : 0;
	}
	add_started(t, p);
	return 0;
}
