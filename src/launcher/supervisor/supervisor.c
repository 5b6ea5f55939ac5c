/*
 * runcvm-supervisor: the host data plane of a running container (docs/architecture.md).
 *
 * runcvm-init (PID 1) starts it with the launcher's command line. When `runtime create` wrote a
 * start plan (startplan.h: it handed the network over and computed the argv), the supervisor
 * spawns virtiofsd and QEMU itself (vmstart.h) and no Node launcher runs at all. Otherwise it runs
 * that Node launcher as its child for the start (launch spec, disks, network, virtiofsd, QEMU,
 * pinning); the launcher writes the handover state (handover.h) and exits, and QEMU and
 * virtiofsd, orphaned, come back to this process (a child subreaper). Either way it then holds
 * the container for its whole life: the agent
 * channel (HELLO, CONFIG, START, flow control), the container's stdio, the signals runcvm-init
 * passes on fd 3, the exec socket (and the pod socket of a VM other containers join), the DNS
 * relay, network hot-plug (netlink events), guest LOG lines, the exit status and the teardown
 * (the 9P server's link too: teardown.h), and for a CRI pod VM its log copy (podlog.h) and its
 * PortForward relay (portfwd.h). A
 * launcher that does not hand over (another VMM) simply runs to the end, and its status is the
 * container's.
 *
 * One poll loop, no threads, no signal handlers (signalfd). Every queue is bounded: guest output
 * by the flow-control window per stream, frames towards the guest by pausing their sources above
 * OUT_SOFT_LIMIT, DNS by MAX_DNS_IN_FLIGHT, exec clients by MAX_CLIENTS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dnsmsg.h"
#include "fcapi.h"
#include "fcvsock.h"
#include "flow.h"
#include "handover.h"
#include "hostlog.h"
#include "loglimit.h"
#include "netwatch.h"
#include "podlog.h"
#include "portfwd.h"
#include "queue.h"
#include "rtnl.h"
#include "teardown.h"
#include "startplan.h"
#include "vmmlog.h"
#include "vmstart.h"
#include "wireio.h"

#define SIGNAL_FD 3
/* Where the launcher finds the stderr pipes (QEMU's, then the file servers'; read and write end
 * of each), named to it by STDERR_ENV (src/launcher/handover.ts, STDERR_PIPES_ENV). */
#define STDERR_FD_FIRST	     4
#define STDERR_ENV	     "RUNCVM_SUPERVISOR_STDERR"
#define STDERR_DRAIN_MAX     (256 * 1024)
#define EXEC_SOCKET	     "/run/runcvm/exec.sock"
#define POD_SOCKET	     "/run/runcvm-pod/exec.sock"
#define WORKLOAD_ID	     1
#define FIRST_EXEC_ID	     2
#define MAX_CLIENTS	     1024
#define OUT_SOFT_LIMIT	     (1024u * 1024)
#define MAX_PENDING_SIGNALS  64
#define MAX_DNS_IN_FLIGHT    64
#define DNS_TIMEOUT_MS	     5000
#define DNS_REPORT_MS	     10000
#define DNS_MSG_MAX	     65535
#define CONNECT_TIMEOUT_MS   10000
#define POWEROFF_TIMEOUT_MS  10000
#define LOG_SUMMARY_MS	     1000
#define NET_SYNC_INTERVAL_MS 1000
#define NET_SYNC_OUT_MAX     (64 * 1024)
#define HOST_SOFTWARE	     "runcvm-supervisor"
#define DOCKER_DNS	     "127.0.0.11"

/* Firecracker, as its Node driver (src/vmm/firecracker/driver.ts, vsock.ts): SIGKILL this long
 * after SendCtrlAltDel (the agent syncs, unmounts and resets); the API's answer, each vsock
 * attempt's OK and the pause between attempts are bounded by the others. */
#define FC_CAD_GRACE_MS	  3000
#define FC_API_TIMEOUT_MS 1000
#define FC_ANSWER_MS	  1000
#define FC_RETRY_MS	  50

enum phase { WAIT_HELLO, WAIT_STARTED, RUNNING, STOPPING };

struct proc {
	uint32_t id;
	struct window win[2];
	int done;
};

struct client {
	int fd;
	uint32_t client_id; /* the id the client chose; frames to it carry it */
	struct proc proc;   /* proc.id 0: no process yet */
	uint8_t *in;
	size_t have, cap;
	struct queue out;
	int closing; /* final frame queued: close once written */
};

struct dns_query {
	int fd;
	uint32_t token;
	long long deadline;
	/* TCP (DNS_TOKEN_TCP): the length-prefixed query still to write, then the answer read so
	 * far, in one buffer of at most 2 + DNS_MSG_MAX bytes. */
	uint8_t *buf;
	size_t len, off;
	int reading;
};

struct sv {
	struct handover ho;
	uint8_t *ho_buf;
	enum phase phase;
	long long deadline; /* of the current phase (HELLO, STARTED, power-off) */
	int agent;
	uint8_t *ain;
	size_t ahave;
	struct queue aout;
	struct proc work;
	int work_started;
	uint32_t pending_sigs[MAX_PENDING_SIGNALS];
	int npending;
	int stdin_open, sigpipe_open;
	struct queue out[2]; /* the container's stdout and stderr */
	int out_dead[2];
	int tty;
	struct termios saved_tty;
	int sfd;
	int listener[2]; /* the exec socket, the pod socket (LISTEN_PATH) */
	struct client *clients[MAX_CLIENTS];
	int nclients;
	uint32_t next_id;
	struct dns_query dns[MAX_DNS_IN_FLIGHT];
	int ndns;
	unsigned long dns_refused, dns_unsent, dns_reported_refused, dns_reported_unsent;
	long long dns_report_at;
	struct loglimit log;
	long long log_summary_at;
	int nl;
	int net_dirty;
	pid_t net_pid;
	int net_out;
	uint8_t *net_buf;
	size_t net_have;
	long long net_last;
	int vmm_exited;
	int vmm_status;
	int cad_sent; /* Firecracker: SendCtrlAltDel asked, SIGKILL next */
	int exit_code;
	long long t_agent_up, t_started, t_exit;
	struct hostlog hlog;
	struct vmmlog_src err[2]; /* QEMU's and virtiofsd's stderr (vmmlog.h) */
	struct vmmlog_tail err_tail;
	struct podlog plog; /* a pod VM's log (podlog.h) */
	struct portfwd pf;  /* a pod VM's PortForward relay (portfwd.h) */
};

static struct sv S;

static long long mono_ms(void)
{
	struct timespec ts;
	/* Cannot fail with a valid clock and pointer; a zero time only shortens a timeout. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A host message on the container's stderr, after the output already queued there. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What goes to the container's stderr, copied to a pod VM's log (podlog.h); its failure is said
 * once, on stderr only. */
static void stderr_copy(const void *buf, size_t len)
{
	if (podlog_copy(&S.plog, buf, len) != 0) {
		char m[128];
		int n = snprintf(m, sizeof m, "runcvm: copying stderr to the pod log: %s\n",
				 strerror(errno));
		if (n > 0 && write(2, m, (size_t)n) < 0) {
		}
	}
}

/* A record of the container's host log (hostlog.h); its first failure is said once. */
static void hlog(const char *source, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hlog(const char *source, const char *fmt, ...)
{
	if (S.hlog.failed)
		return;
	char text[HOSTLOG_LINE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	hostlog_write(&S.hlog, mono_ms(), wall_ms(), source, text,
		      (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
	if (S.hlog.failed && S.hlog.err[0])
		say("runcvm: %s (no more lines written)", S.hlog.err);
}

/* "N ms after the launcher started", from the launcher's launcherStartMs in the handover's timing.
 */
static long long since_launcher(long long t)
{
	const char *k = strstr(S.ho.timing, "\"launcherStartMs\":");
	return k ? t - strtoll(k + strlen("\"launcherStartMs\":"), NULL, 10) : 0;
}
static void say(const char *fmt, ...)
{
	/* A failure report carries the VMM's stderr tail and the console's: room for both. */
	static char buf[32768];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	stderr_copy(buf, (size_t)n);
	if (S.out_dead[1] || q_push(&S.out[1], buf, (size_t)n, NULL, 0, -1, 0) != 0) {
		/* No queue (or no memory): straight to the descriptor, best effort. */
		if (write(2, buf, (size_t)n) < 0) {
		}
	}
}

/* close(2) with its error reported (where the descriptor is given up either way). */
static void xclose(int fd, const char *where)
{
	if (fd >= 0 && close(fd) != 0)
		say("runcvm: %s: close fd %d: %s", where, fd, strerror(errno));
}

static void kill_vm(int sig)
{
	if (!S.vmm_exited && S.ho.vmm_pid > 0 && kill(S.ho.vmm_pid, sig) != 0 && errno != ESRCH)
		say("runcvm: kill %s (pid %d): %s", S.ho.vmm_name, (int)S.ho.vmm_pid,
		    strerror(errno));
	for (int i = 0; i < S.ho.nhelpers; i++)
		if (S.ho.helpers[i] > 0 && kill(S.ho.helpers[i], sig) != 0 && errno != ESRCH)
			say("runcvm: kill helper pid %d: %s", (int)S.ho.helpers[i],
			    strerror(errno));
}

/* The last lines of the guest console, for error messages (the launcher's diagnostics()). */
static void console_tail(char *out, size_t cap)
{
	out[0] = 0;
	if (!S.ho.console_log[0])
		return;
	int fd = open(S.ho.console_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	char buf[16384];
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
	ssize_t n = size > 0 ? pread(fd, buf, sizeof buf - 1, from) : 0;
	xclose(fd, __func__);
	if (n <= 0)
		return;
	buf[n] = 0;
	char *p = buf + n;
	int lines = 0;
	while (p > buf && lines <= 30)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	snprintf(out, cap, "\nguest console (last lines):\n%s", p);
}

/* Every line of text as a record of the host log, the first one after prefix. */
static void hlog_text(const char *source, const char *prefix, const char *text)
{
	for (int first = 1;; first = 0) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);
		hlog(source, "%s%.*s", first ? prefix : "", len, text);
		if (!nl)
			return;
		text = nl + 1;
	}
}

/* ---- QEMU's and virtiofsd's stderr (vmmlog.h) ---- */

static void vmm_line(void *ctx, const char *source, const char *text, size_t len)
{
	(void)ctx;
	hlog(source, "%.*s", (int)len, text);
}

static void err_close(struct vmmlog_src *e)
{
	vmmlog_flush(e, vmm_line, NULL);
	xclose(e->fd, __func__);
	e->fd = -1;
}

/* One read from a stderr pipe; returns the bytes read (0 at its end or when nothing waits). */
static size_t err_readable(struct vmmlog_src *e)
{
	static char buf[16384];
	if (e->fd < 0)
		return 0;
	ssize_t n = read(e->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (n < 0)
			hlog("launcher", "reading %s's stderr: %s", e->source, strerror(errno));
		err_close(e);
		return 0;
	}
	vmmlog_tail_push(&S.err_tail, buf, (size_t)n);
	vmmlog_feed(e, buf, (size_t)n, vmm_line, NULL);
	return (size_t)n;
}

/* What the VMM and the file servers wrote and nobody read yet (before a report or the end),
 * bounded: a writer that never stops cannot hold the supervisor here. */
static void err_drain(void)
{
	for (int i = 0; i < 2; i++) {
		size_t total = 0, n;
		while (total < STDERR_DRAIN_MAX && (n = err_readable(&S.err[i])) > 0)
			total += n;
		vmmlog_flush(&S.err[i], vmm_line, NULL);
	}
}

static void restore_tty(void)
{
	if (S.tty && tcsetattr(0, TCSANOW, &S.saved_tty) != 0)
		say("runcvm: restore the terminal: %s", strerror(errno));
	S.tty = 0;
}

/* Blocks until the container's stdout and stderr queues are written (or their reader is gone). */
static void flush_outputs(void)
{
	for (int i = 0; i < 2; i++) {
		while (S.out[i].bytes && !S.out_dead[i]) {
			if (q_write(&S.out[i], i + 1, NULL, NULL) != 0) {
				S.out_dead[i] = 1;
				break;
			}
			if (!S.out[i].bytes)
				break;
			struct pollfd p = {i + 1, POLLOUT, 0};
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
		}
		q_clear(&S.out[i], NULL, NULL);
	}
}

static void print_timing(void)
{
	if (!(S.ho.flags & HOF_PRINT_TIMING))
		return;
	size_t n = strlen(S.ho.timing);
	while (n > 0 && S.ho.timing[n - 1] != '}')
		n--;
	if (n == 0)
		return;
	say("runcvm-timing "
	    "%.*s,\"agentUpMs\":%lld,\"workloadStartedMs\":%lld,\"workloadExitMs\":%lld,"
	    "\"launcherEndMs\":%lld}",
	    (int)(n - 1), S.ho.timing, S.t_agent_up, S.t_started, S.t_exit, wall_ms());
}

/* runcvm metrics' boot duration (src/launcher/boot-record.ts): the launcher's phases from the
 * handover, then the agent's and the workload's, written aside and renamed (a reader never sees
 * half a record). Best effort: a failure costs a metric, never the container. */
static void write_boot_record(void)
{
	static const char path[] = "/run/runcvm/boot.json", tmp[] = "/run/runcvm/boot.json.tmp";
	char buf[1024];
	size_t n = strlen(S.ho.timing);
	while (n > 0 && S.ho.timing[n - 1] != '}')
		n--;
	if (n == 0)
		return;
	int len = snprintf(buf, sizeof buf, "%.*s,\"agentUpMs\":%lld,\"workloadStartedMs\":%lld}",
			   (int)(n - 1), S.ho.timing, S.t_agent_up, S.t_started);
	if (len < 0 || (size_t)len >= sizeof buf) {
		say("boot record: the launcher's timing is too long");
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		say("boot record: open %s: %s", tmp, strerror(errno));
		return;
	}
	ssize_t w = write(fd, buf, (size_t)len);
	if (w != len)
		say("boot record: write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
	if (close(fd) != 0)
		say("boot record: close %s: %s", tmp, strerror(errno));
	if (w == len && rename(tmp, path) != 0)
		say("boot record: rename to %s: %s", path, strerror(errno));
}

static void finish(int code) __attribute__((noreturn));
/* After the VM: the file servers, then the volume link's rule and tap (teardown.h). */
static void teardown(void)
{
	if (teardown_kill(S.ho.helpers, S.ho.nhelpers) != 0)
		hlog("launcher", "a file server did not exit within %d ms of SIGKILL",
		     TEARDOWN_WAIT_MS);
	for (int i = 0; i < S.ho.nstop_cmds; i++) {
		char out[TEARDOWN_OUTPUT_MAX];
		int st = teardown_run(S.ho.stop_cmds[i], TEARDOWN_CMD_MS, out, sizeof out);
		if (st < 0)
			hlog("launcher", "volume link teardown: %s: %s", S.ho.stop_cmds[i][0],
			     strerror(errno));
		else if (st != 0)
			hlog("launcher", "volume link teardown: %s %s ... exited %d: %s",
			     S.ho.stop_cmds[i][0], S.ho.stop_cmds[i][1] ? S.ho.stop_cmds[i][1] : "",
			     st, out);
	}
}

static void finish(int code)
{
	restore_tty();
	err_drain();
	teardown();
	hlog("launcher", "exit status %d", code);
	hostlog_close(&S.hlog);
	print_timing();
	flush_outputs();
	exit(code);
}

static void reap(void);

/* A failure of the container (guest, VMM, channel): message, VM down, status 1 (GuestFailure). */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	/* As the launcher's GuestFailure with its VM's diagnostics(): the message, the VMM's and
	 * file servers' stderr, the guest console's last lines; on stderr and in the host log. */
	static char msg[4096], console[16384], err[VMMLOG_TAIL_MAX + 1],
		report[sizeof msg + sizeof err + sizeof console + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	err_drain();
	vmmlog_tail_text(&S.err_tail, err, sizeof err);
	console_tail(console, sizeof console);
	/* Firecracker's output carries the guest console too (no console log file). */
	snprintf(report, sizeof report, "%s\n%s:\n%s%s", msg,
		 S.ho.vsock_port ? "firecracker output and guest console (last lines)"
				 : "qemu/virtiofsd stderr",
		 err, console);
	say("runcvm: %s", report);
	hlog_text("launcher", "failed: ", report);
	kill_vm(SIGKILL);
	if (!S.vmm_exited && S.ho.vmm_pid > 0) {
		int st;
		while (waitpid(S.ho.vmm_pid, &st, 0) < 0 && errno == EINTR) {
		}
	}
	finish(S.exit_code ? S.exit_code : 1);
}

/* A bug or resource failure of the supervisor itself. */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fail("supervisor: %s: %s", msg, strerror(errno));
}

/* ---- frames towards the guest ---- */

static void send_frame(uint8_t type, uint32_t id, const void *p, size_t len)
{
	if (q_push_frame(&S.aout, type, id, p, len, -1, 0) != 0)
		die("queue a frame for the guest");
}

static void send_u32(uint8_t type, uint32_t id, uint32_t v)
{
	uint8_t b[4];
	wr_u32(b, v);
	send_frame(type, id, b, 4);
}

static void grant(struct proc *p, int stream, uint32_t n)
{
	uint32_t g = win_consume(&p->win[stream], n);
	if (!g || p->done)
		return;
	uint8_t b[8] = {0};
	wr_u32(b + (stream ? 4 : 0), g);
	send_frame(MSG_WINDOW, p->id, b, 8);
}

static void workload_credit(void *ctx, int stream, uint32_t n)
{
	(void)ctx;
	grant(&S.work, stream, n);
}

static void client_credit(void *ctx, int stream, uint32_t n)
{
	grant(&((struct client *)ctx)->proc, stream, n);
}

static int agent_paused(void)
{
	return S.aout.bytes > OUT_SOFT_LIMIT;
}

/* ---- workload signals and terminal ---- */

static void resize_workload(void)
{
	struct winsize ws;
	if (!S.work_started || !isatty(1) || ioctl(1, TIOCGWINSZ, &ws) != 0)
		return;
	uint8_t b[4] = {(uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
			(uint8_t)(ws.ws_col >> 8)};
	send_frame(MSG_RESIZE, WORKLOAD_ID, b, 4);
}

static void deliver_signal(uint32_t signo)
{
	if (S.work.done)
		return;
	if (S.work_started) {
		send_u32(MSG_SIGNAL, WORKLOAD_ID, signo);
		return;
	}
	if (S.npending < MAX_PENDING_SIGNALS)
		S.pending_sigs[S.npending++] = signo;
}

/* ---- exec server ---- */

static struct client *client_of(uint32_t id)
{
	for (int i = 0; i < S.nclients; i++)
		if (S.clients[i]->proc.id == id)
			return S.clients[i];
	return NULL;
}

static void close_client_fd(struct client *c)
{
	if (c->fd >= 0 && close(c->fd) != 0)
		say("runcvm: close exec client: %s", strerror(errno));
	c->fd = -1;
}

static void drop_client(int i)
{
	struct client *c = S.clients[i];
	/* Output the client never took is consumed: the guest process must not wait for credit
	 * nobody will grant; and a client gone before its process ended must not leave it running.
	 */
	q_clear(&c->out, client_credit, c);
	if (c->proc.id && !c->proc.done) {
		send_u32(MSG_SIGNAL, c->proc.id, SIGKILL);
		/* Kept as an orphan until its EXIT: its output is granted back at once. */
		close_client_fd(c);
		free(c->in);
		c->in = NULL;
		c->cap = c->have = 0;
		return;
	}
	if (c->fd >= 0 && close(c->fd) != 0)
		say("runcvm: close exec client: %s", strerror(errno));
	free(c->in);
	free(c);
	S.clients[i] = S.clients[--S.nclients];
}

/* Frames a client may send: START opens its process, then its stdin, signals, window size and
 * any per-process extension (MSG_PROCESS_EXT_FIRST and up), forwarded without being known. */
static int client_may_send(uint8_t type, int opened)
{
	if (type >= MSG_PROCESS_EXT_FIRST)
		return 1;
	if (!opened)
		return type == MSG_START;
	return type == MSG_STDIN || type == MSG_SIGNAL || type == MSG_RESIZE;
}

static void client_frame(struct client *c, uint8_t type, uint32_t id, const uint8_t *p,
			 uint32_t len)
{
	int opened = c->proc.id != 0;
	if (!client_may_send(type, opened))
		return;
	if (!opened) {
		c->client_id = id;
		c->proc.id = S.next_id++;
		if (S.next_id == 0)
			S.next_id = FIRST_EXEC_ID;
	}
	if (c->proc.done)
		return;
	send_frame(type, c->proc.id, p, len);
}

static int client_read(struct client *c)
{
	if (c->cap - c->have < 65536) {
		size_t want = c->have + 65536;
		if (c->have >= FRAME_HDR) {
			size_t frame = FRAME_HDR + rd_u32(c->in);
			if (frame > want)
				want = frame;
		}
		if (want > FRAME_HDR + FRAME_MAX)
			want = FRAME_HDR + FRAME_MAX;
		if (want > c->cap) {
			uint8_t *n = realloc(c->in, want);
			if (!n) {
				say("runcvm: exec client: out of memory");
				return -1;
			}
			c->in = n;
			c->cap = want;
		}
	}
	if (c->cap == c->have)
		return -1;
	ssize_t n = read(c->fd, c->in + c->have, c->cap - c->have);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->have += (size_t)n;
	size_t off = 0;
	while (c->have - off >= FRAME_HDR) {
		uint32_t len = rd_u32(c->in + off);
		if (len > FRAME_MAX)
			return -1;
		if (c->have - off < FRAME_HDR + len)
			break;
		client_frame(c, c->in[off + 4], rd_u32(c->in + off + 8), c->in + off + FRAME_HDR,
			     len);
		off += FRAME_HDR + len;
	}
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	/* Shrink back after a large frame (a big START): idle clients hold little. */
	if (c->cap > 2 * 65536 && c->have < 65536) {
		uint8_t *n = realloc(c->in, 65536);
		if (n) {
			c->in = n;
			c->cap = 65536;
		}
	}
	return 0;
}

/* The exec socket, and the pod socket, bound in from the host for a VM other containers join
 * (src/runtime/join.ts): their runcvm-exec clients start and exec their processes there, with the
 * exec socket's protocol and bounds (HOF_POD_SOCKET). */
static const char *const LISTEN_PATH[2] = {EXEC_SOCKET, POD_SOCKET};
/* What a listener that cannot open means, as the Node launcher says it. */
static const char *const LISTEN_LOST[2] = {"docker exec is unavailable",
					   "the containers joining this one cannot start"};

/* Both sockets share the client table, its MAX_CLIENTS bound and the process ids. */
static void accept_clients(int k)
{
	for (;;) {
		int fd = accept4(S.listener[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				say("runcvm: %s: accept: %s", LISTEN_PATH[k], strerror(errno));
			return;
		}
		struct client *c = S.nclients < MAX_CLIENTS ? calloc(1, sizeof *c) : NULL;
		if (!c) {
			/* Over the bound: the client sees the connection closed and says so. */
			xclose(fd, __func__);
			continue;
		}
		c->fd = fd;
		S.clients[S.nclients++] = c;
	}
}

static void open_listener(int k)
{
	const char *path = LISTEN_PATH[k];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	/* A socket file left by the container's previous run (docker restart). */
	if (unlink(path) != 0 && errno != ENOENT)
		say("runcvm: %s: unlink %s: %s", LISTEN_LOST[k], path, strerror(errno));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 256) != 0) {
		say("runcvm: %s: %s: %s", LISTEN_LOST[k], path, strerror(errno));
		if (fd >= 0)
			xclose(fd, __func__);
		fd = -1;
	}
	S.listener[k] = fd;
}

static void open_exec_server(void)
{
	open_listener(0);
	if (S.ho.flags & HOF_POD_SOCKET)
		open_listener(1);
}

/* No new client once the workload is done; the socket files go, as the Node launcher's do. */
static void close_listeners(void)
{
	for (int k = 0; k < 2; k++) {
		if (S.listener[k] < 0)
			continue;
		xclose(S.listener[k], __func__);
		S.listener[k] = -1;
		if (unlink(LISTEN_PATH[k]) != 0 && errno != ENOENT)
			say("runcvm: unlink %s: %s", LISTEN_PATH[k], strerror(errno));
	}
}

/* ---- DNS relay ---- */

static void dns_answer(uint32_t token, const uint8_t *msg, size_t len)
{
	if (agent_paused()) {
		S.dns_unsent++;
		return;
	}
	uint8_t h[FRAME_HDR + 4];
	wr_header(h, MSG_DNS, 0, (uint32_t)(4 + len));
	wr_u32(h + FRAME_HDR, token);
	if (q_push(&S.aout, h, sizeof h, msg, len, -1, 0) != 0)
		S.dns_unsent++;
}

static void dns_query(const uint8_t *p, uint32_t len)
{
	if (len < 4 || len - 4 > DNS_MSG_MAX)
		return;
	uint32_t token = rd_u32(p);
	const uint8_t *q = p + 4;
	size_t qlen = len - 4;
	if (S.ndns >= MAX_DNS_IN_FLIGHT) {
		uint8_t out[DNS_MSG_MAX];
		size_t n = dns_servfail(q, qlen, out, sizeof out);
		S.dns_refused++;
		if (n)
			dns_answer(token, out, n);
		return;
	}
	int tcp = (token & DNS_TOKEN_TCP) != 0;
	if (tcp && qlen > DNS_MSG_MAX - 2)
		return;
	int fd =
		socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		say("runcvm: DNS relay: socket: %s", strerror(errno));
		return;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
	if (inet_pton(AF_INET, DOCKER_DNS, &a.sin_addr) != 1) {
		xclose(fd, __func__);
		return;
	}
	struct dns_query d = {fd, token, mono_ms() + DNS_TIMEOUT_MS, NULL, 0, 0, 0};
	if (tcp) {
		/* A TCP query: the answer may be up to 64 KiB (the bound is MAX_DNS_IN_FLIGHT of
		 * them); written once connected, then read back (dns_tcp). */
		if (!(d.buf = malloc(2 + DNS_MSG_MAX))) {
			xclose(fd, __func__);
			return;
		}
		d.buf[0] = (uint8_t)(qlen >> 8);
		d.buf[1] = (uint8_t)qlen;
		memcpy(d.buf + 2, q, qlen);
		d.len = 2 + qlen;
		if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
			free(d.buf);
			xclose(fd, __func__);
			return;
		}
	} else if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || send(fd, q, qlen, 0) < 0) {
		xclose(fd, __func__);
		return;
	}
	S.dns[S.ndns++] = d;
}

static void dns_done(int i)
{
	xclose(S.dns[i].fd, __func__);
	free(S.dns[i].buf);
	S.dns[i] = S.dns[--S.ndns];
}

/* One step of a TCP query: write the query, then read the 2-byte length and the answer. */
static void dns_tcp(int i)
{
	struct dns_query *d = &S.dns[i];
	ssize_t n;
	if (!d->reading) {
		n = send(d->fd, d->buf + d->off, d->len - d->off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR || errno == EINPROGRESS))
			return;
		if (n <= 0) {
			dns_done(i);
			return;
		}
		d->off += (size_t)n;
		if (d->off == d->len) {
			d->reading = 1;
			d->off = 0;
			d->len = 2;
		}
		return;
	}
	n = recv(d->fd, d->buf + d->off, d->len - d->off, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dns_done(i);
		return;
	}
	d->off += (size_t)n;
	if (d->off < d->len)
		return;
	if (d->len == 2) {
		d->len = 2 + ((size_t)d->buf[0] << 8 | d->buf[1]);
		if (d->len > 2)
			return;
	}
	dns_answer(d->token, d->buf + 2, d->len - 2);
	dns_done(i);
}

static void dns_readable(int i)
{
	if (S.dns[i].buf) {
		dns_tcp(i);
		return;
	}
	static uint8_t buf[DNS_MSG_MAX];
	ssize_t n = recv(S.dns[i].fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		dns_answer(S.dns[i].token, buf, (size_t)n);
	dns_done(i);
}

static void dns_report(long long now)
{
	unsigned long refused = S.dns_refused - S.dns_reported_refused;
	unsigned long lost = S.dns_unsent - S.dns_reported_unsent;
	if (!refused && !lost) {
		S.dns_report_at = 0;
		return;
	}
	if (!S.dns_report_at) {
		S.dns_report_at = now + DNS_REPORT_MS;
		return;
	}
	if (now < S.dns_report_at)
		return;
	S.dns_report_at = 0;
	S.dns_reported_refused = S.dns_refused;
	S.dns_reported_unsent = S.dns_unsent;
	if (log_admit(&S.log, now, S.out[1].bytes))
		say("runcvm: DNS relay: %lu guest queries answered SERVFAIL (over %d in flight), "
		    "%lu "
		    "answers dropped (guest not reading its channel)",
		    refused, MAX_DNS_IN_FLIGHT, lost);
}

/* ---- guest LOG lines ---- */

static void guest_log(const uint8_t *p, uint32_t len)
{
	uint8_t level = len ? p[0] : 2;
	static const char *const levels[] = {"error", "warn", "info", "debug"};
	if (level < 4)
		hlog("agent", "%s: %.*s", levels[level], (int)(len ? len - 1 : 0),
		     (const char *)p + 1);
	else
		hlog("agent", "level %u: %.*s", level, (int)(len - 1), (const char *)p + 1);
	if (level != 0 && !(S.ho.flags & HOF_DEBUG))
		return;
	long long now = mono_ms();
	if (!log_admit(&S.log, now, S.out[1].bytes)) {
		if (!S.log_summary_at)
			S.log_summary_at = now + LOG_SUMMARY_MS;
		return;
	}
	char line[LOG_LINE_MAX + 64];
	size_t n =
		log_format(line, sizeof line, "runcvm-agent", len ? p + 1 : p, len ? len - 1 : 0);
	if (n && q_push(&S.out[1], line, n, NULL, 0, -1, 0) != 0)
		S.log.dropped++;
	else if (n)
		stderr_copy(line, n);
}

static void log_summary(long long now)
{
	if (!S.log_summary_at || now < S.log_summary_at)
		return;
	S.log_summary_at = 0;
	if (!S.log.dropped)
		return;
	if (S.out[1].bytes > LOG_QUEUE_MAX) {
		S.log_summary_at = now + LOG_SUMMARY_MS;
		return;
	}
	say("runcvm: %lu guest log line(s) dropped (more than %d/s or stderr not drained)",
	    S.log.dropped, LOG_RATE);
	S.log.dropped = 0;
}

/* ---- network hot-plug: netlink events trigger the launcher's net-sync step ---- */

static void open_netlink(void)
{
	S.nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (S.nl < 0) {
		say("runcvm: watching the container's network: netlink socket: %s",
		    strerror(errno));
		return;
	}
	struct sockaddr_nl a = {.nl_family = AF_NETLINK,
				.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR};
	if (bind(S.nl, (struct sockaddr *)&a, sizeof a) != 0) {
		say("runcvm: watching the container's network: netlink bind: %s", strerror(errno));
		xclose(S.nl, __func__);
		S.nl = -1;
	}
}

static void netlink_readable(void)
{
	static uint8_t buf[16384];
	for (;;) {
		ssize_t n = recv(S.nl, buf, sizeof buf, 0);
		if (n < 0) {
			/* ENOBUFS: events were lost; a sync reads the whole state anyway. */
			if (errno == ENOBUFS) {
				S.net_dirty = 1;
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				say("runcvm: watching the container's network: netlink: %s",
				    strerror(errno));
			return;
		}
		if (n == 0)
			return;
		if (netwatch_matters(buf, (size_t)n))
			S.net_dirty = 1;
	}
}

/* Once the workload runs: whether the namespace changed before the watch began (a network
 * connected right after `docker start` returned). A C dump of its links when create said which
 * interfaces it handed over; else the net-sync step's own look. */
static int net_first_look(void)
{
	if (!S.ho.net_ifaces_known)
		return 1;
	char err[160];
	int r = netwatch_differs(&S.ho.net_ifaces, err, sizeof err);
	if (r < 0)
		say("runcvm: watching the container's network: %s", err);
	return r != 0;
}

static void net_sync_start(long long now)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		say("runcvm: watching the container's network: pipe: %s", strerror(errno));
		return;
	}
	pid_t pid = fork();
	if (pid < 0) {
		say("runcvm: watching the container's network: fork: %s", strerror(errno));
		xclose(p[0], __func__);
		xclose(p[1], __func__);
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 ||
		    sigprocmask(SIG_SETMASK, &none, NULL) != 0 ||
		    signal(SIGPIPE, SIG_DFL) == SIG_ERR)
			_exit(125);
		execv(S.ho.net_sync[0], S.ho.net_sync);
		_exit(127);
	}
	xclose(p[1], __func__);
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) != 0)
		say("runcvm: watching the container's network: fcntl: %s", strerror(errno));
	hlog("launcher", "the container's network changed: running the net-sync step");
	S.net_pid = pid;
	S.net_out = p[0];
	S.net_have = 0;
	S.net_dirty = 0;
	S.net_last = now;
}

/* The helper's stdout: NET_ATTACH/NET_DETACH frames for the guest, nothing else passes. */
static void net_sync_output(void)
{
	size_t off = 0;
	while (S.net_have - off >= FRAME_HDR) {
		uint32_t len = rd_u32(S.net_buf + off);
		uint8_t type = S.net_buf[off + 4];
		if (S.net_have - off - FRAME_HDR < len)
			break;
		if ((type == MSG_NET_ATTACH || type == MSG_NET_DETACH) && len <= 4096)
			send_frame(type, 0, S.net_buf + off + FRAME_HDR, len);
		off += FRAME_HDR + len;
	}
}

static void net_sync_readable(void)
{
	ssize_t n = read(S.net_out, S.net_buf + S.net_have, NET_SYNC_OUT_MAX - S.net_have);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		S.net_have += (size_t)n;
		if (S.net_have < NET_SYNC_OUT_MAX)
			return;
	}
	if (n < 0)
		say("runcvm: watching the container's network: read: %s", strerror(errno));
	net_sync_output();
	xclose(S.net_out, __func__);
	S.net_out = -1;
}

/* ---- the agent channel ---- */

static void workload_outcome(uint8_t type, const uint8_t *p, uint32_t len)
{
	S.work.done = 1;
	S.t_exit = wall_ms();
	if (type == MSG_EXIT) {
		if (len < 8)
			fail("agent protocol error: EXIT shorter than 8 bytes");
		int32_t v = (int32_t)rd_u32(p + 4);
		S.exit_code = p[0] == 1 ? 128 + v : (v & 0xff);
		hlog("launcher", "workload ended: status %d", S.exit_code);
		if ((S.ho.flags & HOF_ROOT_IMAGE) && p[1] != 1 && S.ho.written_back[0]) {
			/* The agent wrote the image root's changes back before this EXIT: the
			 * runtime's delete need not start a write-back VM. */
			int fd = open(S.ho.written_back,
				      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd < 0 || close(fd) != 0)
				say("runcvm: marking the write-back done: %s: %s",
				    S.ho.written_back, strerror(errno));
		}
	} else {
		if (len < 4)
			fail("agent protocol error: ERROR shorter than 4 bytes");
		uint32_t err = rd_u32(p);
		S.exit_code = err == ENOENT ? 127 : err == EACCES ? 126 : 1;
		say("runcvm: %.*s", (int)(len - 4), (const char *)p + 4);
		hlog("launcher", "workload did not start: %.*s", (int)(len - 4),
		     (const char *)p + 4);
	}
	/* The workload is done: no new exec, no more network changes, power off. */
	close_listeners();
	portfwd_close(&S.pf);
	if (S.nl >= 0) {
		xclose(S.nl, __func__);
		S.nl = -1;
	}
	send_frame(MSG_SHUTDOWN, 0, NULL, 0);
	S.phase = STOPPING;
	S.deadline = mono_ms() + POWEROFF_TIMEOUT_MS;
}

static void hello(const uint8_t *p, uint32_t len)
{
	if (S.phase != WAIT_HELLO)
		return;
	if (len < 4)
		fail("agent protocol error: HELLO shorter than 4 bytes");
	uint32_t v = rd_u32(p);
	if (v != PROTO_VERSION)
		fail("guest agent speaks protocol %u (%.*s), this runtime speaks %d: reinstall "
		     "runcvm",
		     v, (int)(len - 4), (const char *)p + 4, PROTO_VERSION);
	S.t_agent_up = wall_ms();
	hlog("launcher", "guest agent up: %.*s (protocol %u), %lld ms after the launcher started",
	     (int)(len - 4), (const char *)p + 4, v, since_launcher(S.t_agent_up));
	if (S.ho.flags & HOF_DEBUG)
		say("runcvm: guest agent: %.*s (protocol %u)", (int)(len - 4), (const char *)p + 4,
		    v);
	uint8_t h[4 + sizeof HOST_SOFTWARE - 1];
	wr_u32(h, PROTO_VERSION);
	memcpy(h + 4, HOST_SOFTWARE, sizeof HOST_SOFTWARE - 1);
	send_frame(MSG_HELLO, 0, h, sizeof h);
	send_frame(MSG_CONFIG, 0, S.ho.config, S.ho.config_len);
	send_frame(MSG_START, WORKLOAD_ID, S.ho.start, S.ho.start_len);
	S.work.id = WORKLOAD_ID;
	S.stdin_open = 1;
	S.phase = WAIT_STARTED;
	S.deadline = mono_ms() + S.ho.started_timeout_ms;
}

static void pf_problem(const char *msg)
{
	say("runcvm: %s", msg);
}

static void workload_frame(uint8_t type, const uint8_t *p, uint32_t len)
{
	switch (type) {
	case MSG_STDOUT:
	case MSG_STDERR: {
		int s = type == MSG_STDERR;
		if (len == 0)
			return;
		if (S.out_dead[s]) {
			grant(&S.work, s, len);
			return;
		}
		if (q_push(&S.out[s], p, len, NULL, 0, s, len) != 0)
			die("queue workload output");
		if (s)
			stderr_copy(p, len);
		return;
	}
	case MSG_STARTED:
		if (S.work_started)
			return;
		S.work_started = 1;
		S.t_started = wall_ms();
		hlog("launcher", "workload started, %lld ms after the launcher started",
		     since_launcher(S.t_started));
		write_boot_record();
		S.phase = RUNNING;
		S.deadline = 0;
		resize_workload();
		for (int i = 0; i < S.npending; i++)
			send_u32(MSG_SIGNAL, WORKLOAD_ID, S.pending_sigs[i]);
		S.npending = 0;
		open_exec_server();
		if (S.ho.port_forward_port)
			portfwd_open(&S.pf, (uint16_t)S.ho.port_forward_port,
				     S.ho.port_forward_client, S.ho.port_forward_start, pf_problem);
		if ((S.ho.flags & HOF_NET_WATCH) && S.ho.nnet_sync > 0)
			S.net_dirty = S.net_dirty || net_first_look();
		return;
	case MSG_EXIT:
	case MSG_ERROR: workload_outcome(type, p, len); return;
	default: return;
	}
}

static void client_frame_from_guest(struct client *c, uint8_t type, const uint8_t *p, uint32_t len)
{
	int data = (type == MSG_STDOUT || type == MSG_STDERR) && len > 0;
	int s = type == MSG_STDERR;
	int final = type == MSG_EXIT || type == MSG_ERROR;
	if (final)
		c->proc.done = 1;
	if (c->fd < 0 || c->closing) {
		if (data)
			grant(&c->proc, s, len);
		if (final && c->fd < 0) {
			for (int i = 0; i < S.nclients; i++)
				if (S.clients[i] == c) {
					free(c->in);
					free(c);
					S.clients[i] = S.clients[--S.nclients];
					break;
				}
		}
		return;
	}
	if (q_push_frame(&c->out, type, c->client_id, p, len, data ? s : -1, data ? len : 0) != 0)
		die("queue exec output");
	if (final)
		c->closing = 1;
}

static void agent_frame(uint8_t type, uint32_t id, const uint8_t *p, uint32_t len)
{
	if (id == 0) {
		switch (type) {
		case MSG_HELLO: hello(p, len); return;
		case MSG_LOG: guest_log(p, len); return;
		case MSG_DNS:
			if (S.ho.flags & HOF_DNS_RELAY)
				dns_query(p, len);
			return;
		case MSG_ERROR:
			fail("guest setup failed: %.*s", len >= 4 ? (int)(len - 4) : 0,
			     len >= 4 ? (const char *)p + 4 : "");
		default: return;
		}
	}
	struct proc *proc = id == WORKLOAD_ID && S.work.id ? &S.work : NULL;
	struct client *c = proc ? NULL : client_of(id);
	if (c)
		proc = &c->proc;
	if (!proc || proc->done)
		return; /* no such process, or after its end */
	if ((type == MSG_STDOUT || type == MSG_STDERR) && len > 0 &&
	    win_receive(&proc->win[type == MSG_STDERR], len) != 0)
		fail("agent protocol error: process %u sent more %s than its flow-control window "
		     "allows",
		     id, type == MSG_STDOUT ? "stdout" : "stderr");
	if (proc == &S.work)
		workload_frame(type, p, len);
	else
		client_frame_from_guest(c, type, p, len);
}

static void agent_readable(void)
{
	ssize_t n = read(S.agent, S.ain + S.ahave, FRAME_HDR + FRAME_MAX - S.ahave);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		fail("agent channel: %s", strerror(errno));
	}
	if (n == 0) {
		if (S.phase == STOPPING) {
			xclose(S.agent, __func__);
			S.agent = -1;
			return;
		}
		/* Usually the VM went away: say that rather than the channel, when it did. */
		for (int i = 0; i < 100 && !S.vmm_exited; i++) {
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
			reap();
		}
		if (S.vmm_exited)
			fail("the VM stopped before the workload finished (%s %s %d)",
			     S.ho.vmm_name, WIFSIGNALED(S.vmm_status) ? "signal" : "exit",
			     WIFSIGNALED(S.vmm_status) ? WTERMSIG(S.vmm_status)
						       : WEXITSTATUS(S.vmm_status));
		fail("the agent channel closed");
	}
	S.ahave += (size_t)n;
	size_t off = 0;
	while (S.ahave - off >= FRAME_HDR) {
		uint32_t len = rd_u32(S.ain + off);
		if (len > FRAME_MAX)
			fail("agent protocol error: frame of %u bytes exceeds %u", len, FRAME_MAX);
		if (S.ahave - off < FRAME_HDR + len)
			break;
		agent_frame(S.ain[off + 4], rd_u32(S.ain + off + 8), S.ain + off + FRAME_HDR, len);
		off += FRAME_HDR + len;
	}
	memmove(S.ain, S.ain + off, S.ahave - off);
	S.ahave -= off;
}

/* Between vsock attempts: whether Firecracker is gone, and its output read meanwhile (the guest
 * console is in it: a full pipe would stall the guest the wait is for). */
static int vmm_gone(void *ctx)
{
	(void)ctx;
	for (int i = 0; i < 2; i++)
		for (size_t total = 0, n;
		     total < STDERR_DRAIN_MAX && (n = err_readable(&S.err[i]));)
			total += n;
	reap();
	return S.vmm_exited;
}

/* Firecracker: its vsock Unix socket, with the CONNECT handshake retried while the guest boots
 * (fcvsock.h); bounded by the HELLO budget, as the agent listens once it is about to say HELLO. */
static int connect_vsock_agent(void)
{
	char err[256];
	int fd;
	enum fcvsock_result r =
		fcvsock_connect(S.ho.agent_socket, S.ho.vsock_port, (int)S.ho.hello_timeout_ms,
				FC_ANSWER_MS, FC_RETRY_MS, vmm_gone, NULL, &fd, err, sizeof err);
	if (r == FCV_CONNECTED)
		return fd;
	if (S.vmm_exited)
		fail("%s exited before the agent channel opened", S.ho.vmm_name);
	fail("agent channel: %s", err);
}

static int connect_agent(void)
{
	if (S.ho.vsock_port)
		return connect_vsock_agent();
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", S.ho.agent_socket);
	long long deadline = mono_ms() + CONNECT_TIMEOUT_MS;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("agent channel: socket");
		if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
			if (fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
				die("agent channel: fcntl");
			return fd;
		}
		int err = errno;
		xclose(fd, __func__);
		reap();
		if (S.vmm_exited)
			fail("%s exited before the agent channel opened", S.ho.vmm_name);
		if ((err != ENOENT && err != ECONNREFUSED) || mono_ms() > deadline) {
			errno = err;
			die("agent channel: connect %s", S.ho.agent_socket);
		}
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* ---- children ---- */

/* A file server (virtiofsd, the 9P server) gone: never signalled again (its pid may be reused);
 * before its VM, that is worth the host log (the guest's file operations fail from then on). */
static void helper_reaped(pid_t pid, int st)
{
	for (int i = 0; i < S.ho.nhelpers; i++) {
		if (S.ho.helpers[i] != pid)
			continue;
		S.ho.helpers[i] = 0;
		/* Powering off, QEMU and its file servers end together: only a loss before is news.
		 */
		if (!S.vmm_exited && S.phase != STOPPING)
			hlog("launcher", "file server pid %d exited before the VM (%s %d)",
			     (int)pid, WIFSIGNALED(st) ? "signal" : "status",
			     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return;
	}
}

static void reap(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0) {
			if (pid < 0 && errno != ECHILD && errno != EINTR)
				say("runcvm: waitpid: %s", strerror(errno));
			return;
		}
		if (pid == S.ho.vmm_pid && !S.vmm_exited) {
			S.vmm_exited = 1;
			S.vmm_status = st;
			/* As the launcher did: the file servers go with the VM. */
			for (int i = 0; i < S.ho.nhelpers; i++)
				if (S.ho.helpers[i] > 0 && kill(S.ho.helpers[i], SIGTERM) != 0 &&
				    errno != ESRCH)
					say("runcvm: stop helper pid %d: %s", (int)S.ho.helpers[i],
					    strerror(errno));
		} else if (pid == S.net_pid) {
			S.net_pid = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				say("runcvm: watching the container's network: the net-sync step "
				    "failed (status %d)",
				    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		} else if (!portfwd_reaped(&S.pf, pid, st))
			helper_reaped(pid, st);
	}
}

/* ---- the control plane and the handover ---- */

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The stderr pipes of QEMU and the file servers, made before the launcher starts them: both ends
 * go to the launcher (which reads until the handover), the read ends stay here for after it.
 * Kept above the descriptors the launcher gets, close-on-exec, so no child inherits them. */
static void make_stderr_pipes(int fds[4])
{
	for (int i = 0; i < 4; i += 2) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) != 0) {
			fprintf(stderr, "runcvm: supervisor: pipe: %s\n", strerror(errno));
			exit(1);
		}
		for (int k = 0; k < 2; k++) {
			fds[i + k] = fcntl(p[k], F_DUPFD_CLOEXEC, STDERR_FD_FIRST + 4);
			if (fds[i + k] < 0 || close(p[k]) != 0) {
				fprintf(stderr, "runcvm: supervisor: stderr pipe: %s\n",
					strerror(errno));
				exit(1);
			}
		}
	}
}

/* In the launcher's child: the pipes at STDERR_FD_FIRST.., inherited (dup2 clears
 * close-on-exec), and named in its environment. */
static int give_stderr_pipes(const int fds[4])
{
	char env[64];
	for (int k = 0; k < 4; k++)
		if (dup2(fds[k], STDERR_FD_FIRST + k) < 0)
			return -1;
	snprintf(env, sizeof env, "%d,%d,%d,%d", STDERR_FD_FIRST, STDERR_FD_FIRST + 1,
		 STDERR_FD_FIRST + 2, STDERR_FD_FIRST + 3);
	return setenv(STDERR_ENV, env, 1);
}

/* A launcher that failed before the handover: what the VMM and file servers wrote that it did not
 * read (the 9P server's words when it died before listening: it starts before the launcher reads
 * these pipes), bounded, on stderr. */
static void unread_stderr(void)
{
	int saved = errno;
	for (int i = 0; i < 2; i++) {
		static char buf[16384];
		int fd = S.err[i].fd;
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n > 0) {
			fprintf(stderr, "runcvm: %s stderr the launcher did not read:\n%.*s\n",
				S.err[i].source, (int)n, buf);
		}
	}
	errno = saved;
}

/* Runs the Node launcher; returns only when it handed over (its state is in S.ho). */
static void run_control_plane(char **argv, const sigset_t *old)
{
	if (unlink(HANDOVER_PATH) != 0 && errno != ENOENT) {
		fprintf(stderr, "runcvm: supervisor: unlink %s: %s\n", HANDOVER_PATH,
			strerror(errno));
		exit(1);
	}
	int pipes[4];
	make_stderr_pipes(pipes);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runcvm: supervisor: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		if (sigprocmask(SIG_SETMASK, old, NULL) != 0 ||
		    signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
		    setenv("RUNCVM_SUPERVISOR_STATE", HANDOVER_PATH, 1) != 0 ||
		    give_stderr_pipes(pipes) != 0) {
			fprintf(stderr, "runcvm: supervisor: prepare the launcher: %s\n",
				strerror(errno));
			_exit(125);
		}
		execv(argv[0], argv);
		fprintf(stderr, "runcvm: supervisor: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* The write ends are the children's only; the read ends are for after the handover. */
	xclose(pipes[1], __func__);
	xclose(pipes[3], __func__);
	S.err[0] = (struct vmmlog_src){.source = "qemu", .fd = pipes[0]};
	S.err[1] = (struct vmmlog_src){.source = "virtiofsd", .fd = pipes[2]};
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "runcvm: supervisor: waitpid: %s\n", strerror(errno));
			exit(1);
		}
	}
	int fd = open(HANDOVER_PATH, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && status_code(st) != 0)
		unread_stderr();
	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(stderr, "runcvm: supervisor: open %s: %s\n", HANDOVER_PATH,
				strerror(errno));
		exit(errno == ENOENT ? status_code(st) : 1);
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > HANDOVER_MAX ||
	    !(S.ho_buf = malloc((size_t)sb.st_size + 1)) ||
	    read(fd, S.ho_buf, (size_t)sb.st_size) != sb.st_size) {
		fprintf(stderr, "runcvm: supervisor: read %s: %s\n", HANDOVER_PATH,
			errno ? strerror(errno) : "not a regular file of the expected size");
		exit(1);
	}
	xclose(fd, __func__);
	if (unlink(HANDOVER_PATH) != 0)
		fprintf(stderr, "runcvm: supervisor: unlink %s: %s\n", HANDOVER_PATH,
			strerror(errno));
	char err[256];
	if (status_code(st) != 0 ||
	    handover_parse(S.ho_buf, (size_t)sb.st_size, &S.ho, err, sizeof err) != 0 ||
	    (S.ho.start_plan &&
	     snprintf(err, sizeof err, "start records in the launcher's state"))) {
		fprintf(stderr, "runcvm: supervisor: %s\n",
			status_code(st) ? "the launcher failed after handing over" : err);
		/* A VM whose state we cannot use must not outlive the container. */
		S.ho.vmm_pid = 0;
		exit(1);
	}
}

/* No launcher: create wrote the start plan (startplan.h); the VM is spawned here. Returns 0 when
 * there is no plan (the launcher starts the VM), 1 once QEMU runs with S.ho filled in as after a
 * handover; a failure ends the container with the reason on stderr and in the host log. */
static struct startplan plan;
static int start_from_plan(const sigset_t *old)
{
	long long started = wall_ms();
	char err[512];
	size_t len;
	int r = startplan_read(START_PLAN_PATH, HANDOVER_MAX, &S.ho_buf, &len, err, sizeof err);
	if (r == 0)
		return 0;
	hostlog_init(&S.hlog, HOSTLOG_DIR, mono_ms());
	if (access(HOSTLOG_DIR, W_OK) != 0)
		S.hlog.failed = 1;
	pid_t fs = 0;
	if (r < 0 || handover_parse(S.ho_buf, len, &S.ho, err, sizeof err) != 0 ||
	    startplan_parse(S.ho_buf, len, &plan, err, sizeof err) != 0)
		goto fail;
	S.ho.vmm_pid = 0;
	hlog("launcher", "%s", plan.start_line);
	int pipes[4];
	make_stderr_pipes(pipes);
	S.err[0] = (struct vmmlog_src){.source = "qemu", .fd = pipes[0]};
	S.err[1] = (struct vmmlog_src){.source = "virtiofsd", .fd = pipes[2]};
	if (plan.nfs > 0) {
		fs = vmstart_spawn(plan.fs_argv, -1, pipes[3], old, err, sizeof err);
		if (fs < 0 || vmstart_wait_socket(fs, plan.fs_socket, pipes[2],
						  VMSTART_SOCKET_TIMEOUT_MS, err, sizeof err) != 0)
			goto fail;
		S.ho.helpers[0] = fs;
		S.ho.nhelpers = 1;
	}
	pid_t vmm = vmstart_spawn(plan.vmm_argv, S.ho.flags & HOF_CONSOLE_STDERR ? 2 : -1, pipes[1],
				  old, err, sizeof err);
	if (vmm < 0)
		goto fail;
	S.ho.vmm_pid = vmm;
	long long spawned = wall_ms();
	/* The write ends are the children's only. */
	xclose(pipes[1], __func__);
	xclose(pipes[3], __func__);
	/* The launcher's timing fields, for the benchmark and the boot record: no Node start. */
	size_t n = strlen(S.ho.timing);
	while (n > 0 && S.ho.timing[n - 1] != '}')
		n--;
	if (n == 0 || snprintf(S.ho.timing + n - 1, sizeof S.ho.timing - (n - 1),
			       ",\"launcherStartMs\":%lld,\"vmmSpawnMs\":%lld}", started,
			       spawned) >= (int)(sizeof S.ho.timing - (n - 1)))
		say("runcvm: supervisor: the start plan's timing is not a JSON object or too long");
	hlog("launcher", "qemu started, %lld ms after the launcher started",
	     since_launcher(spawned));
	return 1;
fail:
	/* A virtiofsd still running goes (one that died was reaped by the wait: kill fails). */
	if (fs > 0 && kill(fs, SIGKILL) == 0 && waitpid(fs, NULL, 0) < 0)
		fprintf(stderr, "runcvm: supervisor: waitpid virtiofsd: %s\n", strerror(errno));
	fprintf(stderr, "runcvm: starting the VM: %s\n", err);
	hlog("launcher", "failed: starting the VM: %s", err);
	hlog("launcher", "exit status 1");
	hostlog_close(&S.hlog);
	exit(1);
}

/* ---- the loop ---- */

enum slot {
	P_AGENT,
	P_STDIN,
	P_OUT1,
	P_OUT2,
	P_SIGPIPE,
	P_SFD,
	P_LISTEN,
	P_LISTEN_POD,
	P_NL,
	P_NET,
	P_ERR0,
	P_ERR1,
	P_PORTFWD,
	P_FIXED
};

static void on_signal(const struct signalfd_siginfo *si)
{
	switch (si->ssi_signo) {
	case SIGCHLD: reap(); return;
	case SIGWINCH: resize_workload(); return;
	default: deliver_signal(si->ssi_signo); return;
	}
}

static void stdin_readable(void)
{
	static uint8_t buf[DATA_MAX];
	ssize_t n = read(0, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		send_frame(MSG_STDIN, WORKLOAD_ID, buf, (size_t)n);
		return;
	}
	send_frame(MSG_STDIN, WORKLOAD_ID, NULL, 0); /* empty: end of input */
	S.stdin_open = 0;
}

static void sigpipe_readable(void)
{
	uint8_t b[64];
	ssize_t n = read(SIGNAL_FD, b, sizeof b);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		S.sigpipe_open = 0;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		deliver_signal(b[i]);
}

static void out_writable(int s)
{
	if (q_write(&S.out[s], s + 1, workload_credit, NULL) != 0) {
		/* The reader is gone: what it did not take counts as consumed. */
		S.out_dead[s] = 1;
		q_clear(&S.out[s], workload_credit, NULL);
	}
}

static int timeout_ms(long long now)
{
	long long next = -1;
#define AT(t)                                                                                      \
	do {                                                                                       \
		if ((t) > 0 && (next < 0 || (t) < next))                                           \
			next = (t);                                                                \
	} while (0)
	AT(S.deadline);
	for (int i = 0; i < S.ndns; i++)
		AT(S.dns[i].deadline);
	AT(S.log_summary_at);
	AT(S.dns_report_at);
	/* As timers(): the net-sync step runs only once the workload runs. A link event while the
	 * guest boots (its tap comes up) must not make every poll return at once until STARTED:
	 * that spun the supervisor at 100 % CPU and, ten VMs on two cores, starved guests for
	 * minutes. */
	if (S.net_dirty && !S.net_pid && S.net_out < 0 && S.phase == RUNNING)
		AT(S.net_last + NET_SYNC_INTERVAL_MS);
#undef AT
	if (next < 0)
		return -1;
	return next <= now ? 0 : (int)(next - now > INT_MAX ? INT_MAX : next - now);
}

static void timers(long long now)
{
	if (S.deadline && now >= S.deadline) {
		if (S.phase == WAIT_HELLO)
			fail("timed out after %u ms waiting for the guest agent",
			     S.ho.hello_timeout_ms);
		if (S.phase == WAIT_STARTED)
			fail("timed out after %u ms waiting for the guest to start the workload",
			     S.ho.started_timeout_ms);
		if (S.phase == STOPPING && S.ho.api_socket[0] && !S.cad_sent) {
			/* As the Node driver: a clean power-off through the agent first (it
			 * disabled the kernel's immediate reboot on Ctrl-Alt-Del), then SIGKILL. */
			char err[256];
			S.cad_sent = 1;
			if (fcapi_put(S.ho.api_socket, FCAPI_CTRL_ALT_DEL_PATH,
				      FCAPI_CTRL_ALT_DEL_BODY, FC_API_TIMEOUT_MS, err, sizeof err) /
				    100 !=
			    2)
				hlog("launcher", "SendCtrlAltDel: %s", err);
			S.deadline = mono_ms() + FC_CAD_GRACE_MS;
		} else if (S.phase == STOPPING) {
			kill_vm(SIGKILL);
			S.deadline = 0;
		}
	}
	for (int i = 0; i < S.ndns;)
		if (now >= S.dns[i].deadline)
			dns_done(i);
		else
			i++;
	log_summary(now);
	dns_report(now);
	if (S.net_dirty && !S.net_pid && S.net_out < 0 &&
	    now >= S.net_last + NET_SYNC_INTERVAL_MS && S.phase == RUNNING)
		net_sync_start(now);
}

static void loop(void)
{
	static struct pollfd pf[P_FIXED + MAX_CLIENTS + MAX_DNS_IN_FLIGHT];
	for (;;) {
		if (S.phase == STOPPING && S.vmm_exited)
			finish(S.exit_code);
		int paused = agent_paused();
		int reading = S.phase != WAIT_HELLO && S.phase != STOPPING;
		pf[P_AGENT] =
			(struct pollfd){S.agent, (short)(POLLIN | (S.aout.bytes ? POLLOUT : 0)), 0};
		pf[P_STDIN] =
			(struct pollfd){S.stdin_open && reading && !paused ? 0 : -1, POLLIN, 0};
		pf[P_OUT1] = (struct pollfd){S.out[0].bytes && !S.out_dead[0] ? 1 : -1, POLLOUT, 0};
		pf[P_OUT2] = (struct pollfd){S.out[1].bytes && !S.out_dead[1] ? 2 : -1, POLLOUT, 0};
		pf[P_SIGPIPE] = (struct pollfd){
			S.sigpipe_open && reading && !paused ? SIGNAL_FD : -1, POLLIN, 0};
		pf[P_SFD] = (struct pollfd){S.sfd, POLLIN, 0};
		pf[P_LISTEN] = (struct pollfd){S.listener[0], POLLIN, 0};
		pf[P_LISTEN_POD] = (struct pollfd){S.listener[1], POLLIN, 0};
		pf[P_NL] = (struct pollfd){S.nl, POLLIN, 0};
		pf[P_NET] = (struct pollfd){S.net_out, POLLIN, 0};
		pf[P_ERR0] = (struct pollfd){S.err[0].fd, POLLIN, 0};
		pf[P_ERR1] = (struct pollfd){S.err[1].fd, POLLIN, 0};
		pf[P_PORTFWD] = (struct pollfd){S.pf.fd, POLLIN, 0};
		int n = P_FIXED;
		int nclients = S.nclients;
		for (int i = 0; i < nclients; i++) {
			struct client *c = S.clients[i];
			short ev = (short)((!paused && !c->closing && !c->proc.done ? POLLIN : 0) |
					   (c->out.bytes ? POLLOUT : 0));
			pf[n++] = (struct pollfd){c->fd, ev, 0};
		}
		int ndns = S.ndns;
		for (int i = 0; i < ndns; i++)
			pf[n++] = (struct pollfd){
				S.dns[i].fd,
				(short)(S.dns[i].buf && !S.dns[i].reading ? POLLOUT : POLLIN), 0};
		int r = poll(pf, (nfds_t)n, timeout_ms(mono_ms()));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (pf[P_SFD].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(S.sfd, &si, sizeof si) == (ssize_t)sizeof si)
				on_signal(&si);
		}
		if (S.agent >= 0 && pf[P_AGENT].revents & POLLOUT &&
		    q_write(&S.aout, S.agent, NULL, NULL) != 0 && errno != EPIPE &&
		    errno != ECONNRESET)
			fail("agent channel: write: %s", strerror(errno));
		if (S.agent >= 0 && pf[P_AGENT].revents & (POLLIN | POLLHUP | POLLERR))
			agent_readable();
		if (pf[P_OUT1].revents)
			out_writable(0);
		if (pf[P_OUT2].revents)
			out_writable(1);
		if (pf[P_STDIN].revents)
			stdin_readable();
		if (pf[P_SIGPIPE].revents)
			sigpipe_readable();
		for (int k = 0; k < 2; k++)
			if (pf[P_LISTEN + k].revents & POLLIN)
				accept_clients(k);
		if (pf[P_NL].revents & POLLIN)
			netlink_readable();
		if (pf[P_NET].revents)
			net_sync_readable();
		for (int i = 0; i < 2; i++)
			if (pf[P_ERR0 + i].revents)
				err_readable(&S.err[i]);
		if (pf[P_PORTFWD].revents & POLLIN)
			portfwd_accept(&S.pf);
		/* Clients and DNS sockets as they were when polled; handlers may reorder the
		 * arrays, so each is matched by descriptor. */
		for (int k = 0; k < nclients; k++) {
			struct pollfd *p = &pf[P_FIXED + k];
			if (!p->revents)
				continue;
			for (int i = 0; i < S.nclients; i++) {
				struct client *c = S.clients[i];
				if (c->fd != p->fd)
					continue;
				int gone = 0;
				if (p->revents & POLLOUT &&
				    q_write(&c->out, c->fd, client_credit, c) != 0)
					gone = 1;
				if (!gone && c->closing && !c->out.bytes) {
					close_client_fd(c);
					drop_client(i);
					break;
				}
				if (!gone && p->revents & (POLLIN | POLLHUP | POLLERR) &&
				    !c->closing && !c->proc.done)
					gone = client_read(c) != 0;
				else if (!gone && p->revents & (POLLHUP | POLLERR))
					gone = 1;
				if (gone)
					drop_client(i);
				break;
			}
		}
		for (int k = 0; k < ndns; k++) {
			struct pollfd *p = &pf[P_FIXED + nclients + k];
			if (!p->revents)
				continue;
			for (int i = 0; i < S.ndns; i++)
				if (S.dns[i].fd == p->fd) {
					dns_readable(i);
					break;
				}
		}
		timers(mono_ms());
	}
}

static void setup_stdio(void)
{
	if (isatty(0)) {
		if (tcgetattr(0, &S.saved_tty) != 0)
			say("runcvm: tcgetattr: %s", strerror(errno));
		else {
			struct termios raw = S.saved_tty;
			cfmakeraw(&raw);
			if (tcsetattr(0, TCSANOW, &raw) != 0)
				say("runcvm: tcsetattr: %s", strerror(errno));
			else
				S.tty = 1;
		}
	}
	for (int fd = 0; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
			say("runcvm: fcntl fd %d: %s", fd, strerror(errno));
	}
	int fl = fcntl(SIGNAL_FD, F_GETFL);
	S.sigpipe_open = fl >= 0 && getenv("RUNCVM_SIGNAL_FD") != NULL;
	if (S.sigpipe_open && fcntl(SIGNAL_FD, F_SETFL, fl | O_NONBLOCK) != 0)
		say("runcvm: fcntl fd %d: %s", SIGNAL_FD, strerror(errno));
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: runcvm-supervisor LAUNCHER [ARG...]\n");
		return 2;
	}
	S.agent = S.listener[0] = S.listener[1] = S.nl = S.net_out = -1;
	S.err[0].fd = S.err[1].fd = -1;
	S.plog.fd = S.pf.fd = -1;
	/* No host log until hostlog_init: a failure before it must not write a record anywhere. */
	S.hlog.fd = -1;
	S.hlog.failed = 1;
	S.next_id = FIRST_EXEC_ID;
	/* Every signal through the signalfd: SIGCHLD and SIGWINCH are ours, the rest is the
	 * workload's. The launcher child gets the original mask back. */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	if (sigprocmask(SIG_BLOCK, &all, &old) != 0) {
		perror("runcvm: supervisor: sigprocmask");
		return 1;
	}
	/* QEMU and virtiofsd, orphaned when the launcher exits, must come back to us. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		perror("runcvm: supervisor: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	int planned = start_from_plan(&old);
	if (!planned)
		run_control_plane(argv + 1, &old);
	S.err[0].source = S.ho.vmm_name; /* QEMU's or Firecracker's output, named in the host log */

	sigset_t mine = all;
	sigdelset(&mine, SIGPIPE);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die("ignore SIGPIPE");
	S.sfd = signalfd(-1, &mine, SFD_NONBLOCK | SFD_CLOEXEC);
	if (S.sfd < 0)
		die("signalfd");
	if (!(S.ain = malloc(FRAME_HDR + FRAME_MAX)) || !(S.net_buf = malloc(NET_SYNC_OUT_MAX)))
		die("allocate buffers");
	log_init(&S.log, mono_ms());
	/* No host log directory bound (create did not make one): nothing to say about it. */
	if (!planned) {
		hostlog_init(&S.hlog, HOSTLOG_DIR, mono_ms());
		if (access(HOSTLOG_DIR, W_OK) != 0)
			S.hlog.failed = 1;
	}
	if (S.ho.pod_log[0] && podlog_open(&S.plog, S.ho.pod_log, S.ho.pod_log_budget) != 0)
		say("runcvm: the pod log %s: %s (stderr only)", S.ho.pod_log, strerror(errno));
	setup_stdio();
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(S.err[i].fd, F_GETFL);
		if (fl < 0 || fcntl(S.err[i].fd, F_SETFL, fl | O_NONBLOCK) != 0)
			die("fcntl %s's stderr pipe", S.err[i].source);
	}
	if (S.ho.flags & HOF_NET_WATCH)
		open_netlink();
	reap();
	S.agent = connect_agent();
	S.phase = WAIT_HELLO;
	S.deadline = mono_ms() + S.ho.hello_timeout_ms;
	loop();
}
