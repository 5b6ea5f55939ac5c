/* runcvm guest agent: PID 1 of the VM. See docs/agent-protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "clock.h"
#include "config.h"
#include "dns.h"
#include "flush.h"
#include "log.h"
#include "modprobe.h"
#include "modules.h"
#include "mounts.h"
#include "port.h"
#include "power.h"
#include "process.h"
#include "proto.h"
#include "rcu.h"
#include "sysctl.h"
#include "writeback.h"

#ifndef RUNCVM_AGENT_VERSION
#define RUNCVM_AGENT_VERSION "dev"
#endif
#define PORT_WAIT_MS	 5000
#define SHUTDOWN_WAIT_MS 10000

/* The agent's one state. Static storage only because its buffers are too large for the stack:
 * every function below gets it as a parameter. */
static struct agent agent;

/* The kernel gives /init the initramfs's dev/console; reopen it on devtmpfs to be sure.
 * Returns an errno to report once logging works, or 0. */
static int console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return errno;
	int err = 0;
	for (int i = 0; i < 3; i++)
		if (fd != i && dup2(fd, i) < 0)
			err = errno;
	if (fd > 2)
		close(fd);
	return err;
}

static int cmdline_has(const char *cmdline, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = cmdline; (p = strstr(p, word)) != NULL; p += n)
		if ((p == cmdline || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

static void read_cmdline(char *buf, size_t len)
{
	buf[0] = 0;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (n < 0)
		log_error("read /proc/cmdline: %s", strerror(errno));
	else
		buf[n] = 0;
	if (fd >= 0)
		close(fd);
}

static void fatal_setup(struct agent *a, int err, const char *msg)
{
	proto_send_error(&a->chan, 0, err, msg);
	power_off("fatal setup error");
}

/* Everything before the host conversation: mounts, modules, the port, HELLO. */
static void boot(struct agent *a)
{
	char cmdline[4096];
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		log_error("mount /proc: %s", strerror(errno));
	read_cmdline(cmdline, sizeof cmdline);
	if (cmdline_has(cmdline, "runcvm.poweroff=1")) {
		/* The benchmarks' bare-VM baseline: kernel boot to /init and nothing else. */
		sync();
		reboot(RB_POWER_OFF);
	}
	if (mounts_early() != 0)
		power_off("initramfs mounts failed");
	int cerr = console_stdio();
	log_init();
	if (cerr)
		log_error("make /dev/console stdio: %s", strerror(cerr));
	log_set_debug(cmdline_has(cmdline, "runcvm.debug=1"));
	log_debug("runcvm-agent %s starting", RUNCVM_AGENT_VERSION);
	clock_mark("agent started");
	/* Until the workload starts (dispatch, MSG_START): rcu.h says why. */
	rcu_expedite(1);
	/* Firecracker (x86) ends only on a guest reset, not on a power-off (power.c). */
	power_set_reset(cmdline_has(cmdline, "runcvm.exit=reset"));
	/* Ctrl-Alt-Del (Firecracker's SendCtrlAltDel) becomes SIGINT for a clean power-off (serve).
	 */
	if (reboot(RB_DISABLE_CAD) != 0)
		log_warn("disable Ctrl-Alt-Del reboot: %s", strerror(errno));
	a->initramfs_fd = modprobe_keep_initramfs();
	sysctl_writeback_timing();
	if (modules_load("/modules.list") != 0)
		log_warn("some kernel modules failed to load");
	clock_mark("modules loaded");
	int fd = channel_open(AGENT_PORT_NAME, PORT_WAIT_MS);
	if (fd < 0)
		power_off("no agent channel");
	proto_init(&a->chan, fd);
	log_set_chan(&a->chan);
	log_port_enable(1);
	static const char ver[] = "runcvm-agent " RUNCVM_AGENT_VERSION;
	uint8_t v[4];
	put_u32(v, PROTO_VERSION);
	/* Blocks until the host connects, so the rest of the stream cannot be lost. */
	if (proto_send(&a->chan, MSG_HELLO, 0, v, 4, ver, strlen(ver)) != 0)
		power_off("cannot send HELLO");
	clock_mark("HELLO sent");
	if (proto_set_nonblocking(&a->chan) != 0)
		power_off("agent port setup failed");
	if (procs_init(&a->procs, &a->ctrs, &a->chan, &a->img) != 0)
		power_off("cannot track processes");
}

/* A killed container's changes, written back by a VM of their own at the runtime's delete:
 * mount the image root's drives and the host share, copy, report as process 1's EXIT. */
static void writeback_only(struct agent *a, const struct vm_config *c)
{
	struct agent_err e = {0};
	if (mounts_setup_writeback(&a->img, c, &e) != 0)
		fatal_setup(a, e.errnum, e.msg);
	int rc = writeback_run(&a->img);
	log_info("write-back of the writable drive %s",
		 rc == 0 ? "done" : "failed: the drive keeps the changes");
	uint8_t b[8] = {0};
	put_u32(b + 4, rc == 0 ? 0 : 1);
	if (proto_send(&a->chan, MSG_EXIT, 1, b, sizeof b, NULL, 0) != 0)
		power_off("cannot send the write-back's EXIT");
	procs_set_init_done(&a->procs);
}

static void handle_config(struct agent *a, const struct frame *f)
{
	struct vm_config c;
	struct agent_err e = {0};
	if (a->configured) {
		log_warn("second CONFIG ignored");
		return;
	}
	if (config_parse(f->payload, f->len, &c, &e) != 0)
		fatal_setup(a, e.errnum, e.msg);
	if (c.debug)
		log_set_debug(1);
	if (c.writeback_only) {
		writeback_only(a, &c);
		config_free(&c);
		a->configured = 1;
		return;
	}
	clock_mark("CONFIG received");
	if (mounts_setup_root(&a->img, &c, &e) != 0)
		fatal_setup(a, e.errnum, e.msg);
	clock_mark("root mounted");
	modprobe_install(a->initramfs_fd);
	/* The host has always been told EIO for a network that could not be set up. */
	if (net_setup(&a->net, &c.net, &e) != 0)
		fatal_setup(a, EIO, e.msg);
	clock_mark("network set up");
	if (c.net.dns_relay) {
		dns_relay_open(&a->dns);
		dns_tcp_open(&a->dns);
	}
	/* After the NICs exist (net.ipv4.conf.eth0.* names one), before any START. */
	if (sysctl_apply(c.sysctls, c.nsysctls, &e) != 0)
		fatal_setup(a, e.errnum, e.msg);
	log_debug("root %s mounted (%zu submounts, readonly %d)", c.root_tag, c.nmounts,
		  c.root_readonly);
	config_free(&c);
	a->configured = 1;
	clock_mark("CONFIG done");
}

/* docker network connect/disconnect on the running container: a failure is reported, not fatal. */
static void net_frame(struct agent *a, const struct frame *f)
{
	struct agent_err e;
	int rc = f->type == MSG_NET_ATTACH ? net_attach(f->payload, f->len, &e)
					   : net_detach(&a->net, f->payload, f->len, &e);
	if (rc != 0)
		agent_err_log(&e);
}

static void dispatch(struct agent *a, const struct frame *f)
{
	switch (f->type) {
	case MSG_HELLO: {
		struct agent_err e;
		if (proto_check_host_hello(f->payload, f->len, &e) != 0)
			fatal_setup(a, e.errnum, e.msg);
		a->host_hello = 1;
		break;
	}
	case MSG_CONFIG:
		if (!a->host_hello)
			fatal_setup(a, EPROTO,
				    "the host sent CONFIG without HELLO: a runtime older "
				    "than agent protocol 2: reinstall runcvm");
		handle_config(a, f);
		break;
	case MSG_START:
		if (f->id == 1)
			clock_mark("START 1 received");
		if (!a->configured)
			proto_send_error(&a->chan, f->id, EINVAL, "START before CONFIG");
		else if (procs_start(&a->procs, f->id, f->payload, f->len) != 0)
			power_off("process 1 could not start");
		else if (f->id == 1)
			rcu_expedite(0);
		break;
	case MSG_STDIN: procs_stdin(&a->procs, f->id, f->payload, f->len); break;
	case MSG_SIGNAL:
		/* A signal for the workload may be Docker's stop signal, and the kill may follow at
		 * once: the image root's writes go to the drive now (a no-op for other roots). */
		if (f->id == 1)
			flush_now(&a->img);
		procs_signal(&a->procs, f->id, f->payload, f->len);
		break;
	case MSG_RESIZE: procs_resize(&a->procs, f->id, f->payload, f->len); break;
	case MSG_WINDOW: procs_window(&a->procs, f->id, f->payload, f->len); break;
	case MSG_DNS: dns_relay_answer(&a->dns, f->payload, f->len); break;
	case MSG_NET_ATTACH:
	case MSG_NET_DETACH: net_frame(a, f); break;
	case MSG_SHUTDOWN: power_off("SHUTDOWN from the host");
	default: log_warn("skipping frame type 0x%02x id %u (%u bytes)", f->type, f->id, f->len);
	}
}

static void read_port(struct agent *a)
{
	ssize_t n = proto_fill(&a->chan);
	if (n == 0) {
		log_port_enable(0);
		power_off("host disconnected");
	}
	if (n < 0)
		power_off("agent port failed");
	struct frame f;
	int r;
	while ((r = proto_next(&a->chan, &f)) == 1)
		dispatch(a, &f);
	if (r < 0)
		power_off("protocol error");
}

static int blocked_sigchld_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	/* SIGCHLD and SIGINT are read from a signalfd in the loop; handlers would race with it. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		log_error("block SIGCHLD, SIGINT: %s", strerror(errno));
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		power_off("signalfd failed");
	/* Writes to a stdin pipe whose reader is gone must fail with EPIPE, not kill PID 1. The
	 * only signal the agent ignores: a child resets it before its exec (exec.c). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_error("ignore SIGPIPE: %s", strerror(errno));
	return fd;
}

static void drain_signalfd(struct agent *a, int fd)
{
	struct signalfd_siginfo si;
	ssize_t n;
	int cad = 0;
	while ((n = read(fd, &si, sizeof si)) == (ssize_t)sizeof si)
		cad |= si.ssi_signo == SIGINT;
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error("read signalfd: %s", strerror(errno));
	/* Signals coalesce: one SIGCHLD may stand for many children, so reap them all. */
	procs_reap(&a->procs);
	if (cad)
		power_off("Ctrl-Alt-Del from the host");
}

/* One poll over the port, the SIGCHLD signalfd and every process's stdio. */
static void serve(struct agent *a, int sfd)
{
	long long deadline = -1;
	struct pollfd *pfd = NULL;
	for (;;) {
		size_t max = 3 + DNS_TCP_POLL_MAX + procs_poll_max(&a->procs);
		struct pollfd *np = realloc(pfd, max * sizeof *pfd);
		if (!np)
			power_off("out of memory for the poll table");
		pfd = np;
		pfd[0] = (struct pollfd){proto_port(&a->chan),
					 procs_stdin_backlogged(&a->procs) ? 0 : POLLIN, 0};
		pfd[1] = (struct pollfd){sfd, POLLIN, 0};
		/* A negative fd (no DNS relay) is ignored by poll. */
		pfd[2] = (struct pollfd){a->dns.udp_fd, POLLIN, 0};
		size_t nd = dns_tcp_fill_poll(&a->dns, pfd + 3, DNS_TCP_POLL_MAX);
		size_t n = procs_fill_poll(&a->procs, pfd + 3 + nd, max - 3 - nd);
		if (deadline < 0 && procs_init_done(&a->procs))
			deadline = clock_ms() + SHUTDOWN_WAIT_MS;
		int timeout = deadline < 0 ? -1 : (int)(deadline - clock_ms());
		if (deadline >= 0 && timeout <= 0)
			power_off("no SHUTDOWN within 10 s of process 1's exit");
		if (poll(pfd, n + nd + 3, timeout) < 0 && errno != EINTR)
			log_error("poll: %s", strerror(errno));
		procs_handle_poll(&a->procs, pfd + 3 + nd, n);
		dns_tcp_handle_poll(&a->dns, pfd + 3, nd);
		if (pfd[2].revents)
			dns_relay_readable(&a->dns);
		if (pfd[1].revents)
			drain_signalfd(a, sfd);
		if (pfd[0].revents)
			read_port(a);
		if (proto_host_gone(&a->chan))
			power_off("host disconnected");
	}
}

int main(int argc, char **argv)
{
	/* The same binary is the kernel's /sbin/modprobe (a hard link in the initramfs). */
	if (argc > 0 && modprobe_invoked(argv[0]))
		return modprobe_main(argc, argv);
	/* Anything else would power the VM off at the first error: the agent is only ever PID 1. */
	if (getpid() != 1) {
		fprintf(stderr, "runcvm-agent: not PID 1: refusing to run\n");
		return 1;
	}
	proto_init(&agent.chan, -1);
	imgroot_init(&agent.img);
	dns_relay_init(&agent.dns, &agent.chan);
	boot(&agent);
	serve(&agent, blocked_sigchld_fd());
	return 0;
}
