/*
 * runcvm-exec: the process `docker exec` starts in the container (runc exec of the rewritten
 * process.json, src/runtime/exec.ts). It connects to the launcher's exec socket, sends the START
 * payload the runtime prepared (base64 in RUNCVM_EXEC_START), then relays stdin, stdout, stderr,
 * signals and window size with the agent protocol's frames (docs/agent-protocol.md) and exits
 * with the guest process's status. Static C rather than Node: it runs once per docker exec, and
 * a Node start would be most of the exec's latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../agent-protocol/wire.h"

#define EXEC_SOCKET "/run/runcvm/exec.sock"
#define START_ENV   "RUNCVM_EXEC_START"
/* Set by the runtime for a container that runs in another container's VM (docker run --network
 * container:X): what to say when that VM goes away. */
#define LOST_ENV "RUNCVM_EXEC_LOST"
/* Set by a pod VM's PortForward relay (src/launcher/port-forward.ts): stdin and stdout are a TCP
 * connection that the pod netns's REDIRECT rule diverted, and the port it was meant for goes into
 * the START (tag PORT, docs/agent-protocol.md). */
#define PORT_ENV "RUNCVM_EXEC_PORT_OF_STDIN"
/* Set for a pod VM's app container with a memory limit: the limit of this client's own host
 * cgroup, in bytes (src/runtime/pod-vm.ts). */
#define OOM_ENV "RUNCVM_EXEC_OOM_HOST_LIMIT"
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
/* The container counts as running while its VM may still be booting (TCG: tens of seconds). */
#define CONNECT_TIMEOUT_MS 300000
/* The id of this client's one process in its frames on the exec socket; the data plane maps it
 * to a guest process id of its own (docs/agent-protocol.md, "docker exec"). */
#define CLIENT_ID 1

/* The terminal's settings before raw mode, restored by die() and at the end. File-scope by design:
 * die() ends the process from any depth and must put the user's terminal back. */
static struct termios saved_tty;
static int tty_raw;

static void restore_tty(void)
{
	if (tty_raw && tcsetattr(0, TCSANOW, &saved_tty) != 0)
		fprintf(stderr, "runcvm: restore the terminal: %s\n", strerror(errno));
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("runcvm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	restore_tty();
	exit(code);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_all(int fd, const void *buf, size_t len, const char *what)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die(1, "writing %s: %s", what, n < 0 ? strerror(errno) : "nothing written");
		p += n;
		len -= (size_t)n;
	}
}

static void send_frame(int sock, uint8_t type, const void *payload, size_t len)
{
	uint8_t h[FRAME_HDR] = {0};
	put_u32(h, (uint32_t)len);
	h[4] = type;
	put_u32(h + 8, CLIENT_ID);
	write_all(sock, h, FRAME_HDR, "to the exec socket");
	if (len)
		write_all(sock, payload, len, "to the exec socket");
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes standard base64 (padding optional); returns the length or -1. */
static long b64_decode(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *in && *in != '='; in++) {
		int v = b64_value((unsigned char)*in);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)n;
}

static long long now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die(1, "clock_gettime: %s", strerror(errno));
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_launcher(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", EXEC_SOCKET);
	long long deadline = now_ms() + CONNECT_TIMEOUT_MS;
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die(1, "socket: %s", strerror(errno));
		if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0)
			return fd;
		int err = errno;
		close(fd);
		if (err != ENOENT && err != ECONNREFUSED)
			die(1, "connect %s: %s", EXEC_SOCKET, strerror(err));
		if (now_ms() > deadline)
			die(1,
			    "timed out after %d s waiting for the container's VM to accept docker "
			    "exec",
			    CONNECT_TIMEOUT_MS / 1000);
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

static void send_resize(int sock)
{
	struct winsize ws;
	if (ioctl(1, TIOCGWINSZ, &ws) != 0)
		return;
	uint8_t p[4] = {(uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
			(uint8_t)(ws.ws_col >> 8)};
	send_frame(sock, MSG_RESIZE, p, sizeof p);
}

/* Every signal runc's exec process can be sent is forwarded; SIGWINCH becomes a resize. */
static int signal_fd(sigset_t *set)
{
	sigfillset(set);
	sigdelset(set, SIGKILL);
	sigdelset(set, SIGSTOP);
	sigdelset(set, SIGPIPE);
	sigdelset(set, SIGSEGV);
	sigdelset(set, SIGBUS);
	sigdelset(set, SIGFPE);
	sigdelset(set, SIGILL);
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		die(1, "sigprocmask: %s", strerror(errno));
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		die(1, "ignore SIGPIPE: %s", strerror(errno));
	int fd = signalfd(-1, set, SFD_CLOEXEC);
	if (fd < 0)
		die(1, "signalfd: %s", strerror(errno));
	return fd;
}

static void make_raw(void)
{
	if (!isatty(0))
		return;
	if (tcgetattr(0, &saved_tty) != 0)
		die(1, "tcgetattr: %s", strerror(errno));
	struct termios raw = saved_tty;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSANOW, &raw) != 0)
		die(1, "tcsetattr: %s", strerror(errno));
	tty_raw = 1;
}

/* runc's start errors as exit statuses: Docker gives 127 for "not found", 126 for "permission
 * denied". */
static int error_code(uint32_t err)
{
	return err == ENOENT ? 127 : err == EACCES ? 126 : 1;
}

/* The guest's OOM killer ended the container: end this client the same way in its own host
 * cgroup (limit bytes), so that containerd's shim sees an OOM kill there and the CRI reports
 * reason OOMKilled, with the same status 137. Bounded: touches at most twice the limit plus
 * 8 MiB, then gives up and the caller exits 137 itself. */
static void oom_in_host_cgroup(void)
{
	const char *v = getenv(OOM_ENV);
	char *end;
	unsigned long long limit = v ? strtoull(v, &end, 10) : 0;
	if (!v || *end || limit == 0 || limit > (64ull << 20))
		return;
	fflush(stderr);
	const size_t chunk = 1 << 20;
	for (unsigned long long used = 0; used < 2 * limit + (8ull << 20); used += chunk) {
		/* volatile: each page is really written, so charged to the cgroup (an optimiser may
		 * drop a memset of memory nobody reads). */
		volatile char *p = malloc(chunk);
		if (!p)
			return;
		for (size_t i = 0; i < chunk; i += 4096)
			p[i] = 1;
	}
}

/* Appends PORT = the original destination port of the connection on stdin (8 bytes of room). */
static long append_original_port(uint8_t *start, long len)
{
	struct sockaddr_in dst;
	socklen_t n = sizeof dst;
	if (getsockopt(0, IPPROTO_IP, SO_ORIGINAL_DST, &dst, &n) != 0)
		die(1, "the forwarded connection's original port: %s", strerror(errno));
	uint16_t port = ntohs(dst.sin_port);
	uint8_t *p = start + len;
	p[0] = ST_PORT;
	p[1] = 0;
	put_u32(p + 2, 2);
	p[6] = (uint8_t)port;
	p[7] = (uint8_t)(port >> 8);
	return len + 8;
}

struct session {
	int sock;
	int started;
	uint32_t pending[64];
	size_t npending;
};

static void deliver_signal(struct session *s, uint32_t signo)
{
	if (signo == SIGWINCH) {
		if (s->started)
			send_resize(s->sock);
		return;
	}
	if (!s->started) {
		if (s->npending < sizeof s->pending / sizeof *s->pending)
			s->pending[s->npending++] = signo;
		return;
	}
	uint8_t p[4];
	put_u32(p, signo);
	send_frame(s->sock, MSG_SIGNAL, p, sizeof p);
}

/* Handles one frame from the launcher; returns an exit code once the process is done, else -1. */
static int handle_frame(struct session *s, uint8_t type, const uint8_t *p, uint32_t len)
{
	switch (type) {
	case MSG_STDOUT:
	case MSG_STDERR:
		if (len)
			write_all(type == MSG_STDOUT ? 1 : 2, p, len,
				  type == MSG_STDOUT ? "stdout" : "stderr");
		return -1;
	case MSG_STARTED:
		s->started = 1;
		send_resize(s->sock);
		for (size_t i = 0; i < s->npending; i++)
			deliver_signal(s, s->pending[i]);
		s->npending = 0;
		return -1;
	case MSG_EXIT:
		if (len < 8)
			die(1, "protocol error: short EXIT frame");
		/* A pod-VM container's cgroup hit its memory limit (protocol 3). */
		if (p[1] & EXIT_FLAG_OOM_KILLED)
			fprintf(stderr,
				"runcvm: OOMKilled: the container's memory limit was reached "
				"and the guest's OOM killer killed a process of it\n");
		if ((p[1] & EXIT_FLAG_OOM_KILLED) && p[0] == EXIT_KIND_SIGNALED &&
		    get_u32(p + 4) == SIGKILL) {
			restore_tty();
			oom_in_host_cgroup();
		}
		return p[0] == EXIT_KIND_SIGNALED ? 128 + (int)get_u32(p + 4)
						  : (int)(get_u32(p + 4) & 0xff);
	case MSG_ERROR:
		if (len < 4)
			die(1, "protocol error: short ERROR frame");
		fprintf(stderr, "runcvm: %.*s\n", (int)(len - 4), (const char *)p + 4);
		return error_code(get_u32(p));
	case MSG_LOG:
		if (len >= 1)
			fprintf(stderr, "runcvm: %.*s\n", (int)(len - 1), (const char *)p + 1);
		return -1;
	default: return -1; /* unknown types are skipped (forward compatibility) */
	}
}

int main(void)
{
	const char *start_b64 = getenv(START_ENV);
	const char *lost = getenv(LOST_ENV);
	if (!start_b64)
		die(1, "%s is not set: this command is started by runcvm's runtime for docker exec",
		    START_ENV);
	size_t cap = strlen(start_b64) * 3 / 4 + 3;
	uint8_t *start = malloc(cap + 8);
	uint8_t *buf = malloc(FRAME_HDR + FRAME_MAX);
	uint8_t *in = malloc(DATA_MAX);
	if (!start || !buf || !in)
		die(1, "out of memory");
	long start_len = b64_decode(start_b64, start, cap);
	if (start_len < 0 || start_len > FRAME_MAX - 8)
		die(1, "%s: not a valid START payload", START_ENV);
	if (getenv(PORT_ENV))
		start_len = append_original_port(start, start_len);

	sigset_t set;
	int sfd = signal_fd(&set);
	struct session s = {.sock = connect_launcher()};
	make_raw();
	send_frame(s.sock, MSG_START, start, (size_t)start_len);

	size_t have = 0;
	int stdin_open = 1;
	for (;;) {
		struct pollfd pfd[3] = {
			{s.sock, POLLIN, 0}, {sfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(1, "poll: %s", strerror(errno));
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			ssize_t n = read(sfd, &si, sizeof si);
			if (n == (ssize_t)sizeof si)
				deliver_signal(&s, si.ssi_signo);
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				die(1, "read signalfd: %s", strerror(errno));
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			ssize_t n = pfd[2].revents & POLLNVAL ? 0 : read(0, in, DATA_MAX);
			if (n > 0) {
				send_frame(s.sock, MSG_STDIN, in, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				send_frame(s.sock, MSG_STDIN, NULL, 0); /* empty = EOF */
				stdin_open = 0;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(s.sock, buf + have, FRAME_HDR + FRAME_MAX - have);
			if (n == 0 && lost)
				die(1, "%.512s", lost);
			if (n == 0)
				die(1, "the container stopped during exec (the launcher closed the "
				       "connection)");
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				die(1, "reading the exec socket: %s", strerror(errno));
			}
			have += (size_t)n;
			size_t off = 0;
			while (have - off >= FRAME_HDR) {
				uint32_t len = get_u32(buf + off);
				if (len > FRAME_MAX)
					die(1, "protocol error: frame of %u bytes", len);
				if (have - off < FRAME_HDR + len)
					break;
				int code =
					handle_frame(&s, buf[off + 4], buf + off + FRAME_HDR, len);
				if (code >= 0) {
					restore_tty();
					return code;
				}
				off += FRAME_HDR + len;
			}
			memmove(buf, buf + off, have - off);
			have -= off;
		}
	}
}
