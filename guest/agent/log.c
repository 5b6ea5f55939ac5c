#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"

/* Module-wide by design: logging is reachable from every function of the agent, including those
 * that get no state (the log is the agent's stderr). The channel is borrowed from struct agent. */
static int console_fd = 2;
static int debug_on;
static int port_on;
static int in_port_write;
static struct chan *log_chan;

void log_init(void)
{
	/* A private console fd: the process fds 0-2 get replaced in children. */
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		console_fd = fd;
}

void log_set_debug(int on)
{
	debug_on = on;
}
int log_debug_enabled(void)
{
	return debug_on;
}
void log_set_chan(struct chan *ch)
{
	log_chan = ch;
}
void log_port_enable(int on)
{
	port_on = on;
}

static void console_write(const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(console_fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nowhere left to report a console failure */
		line += n;
		len -= (size_t)n;
	}
}

void logmsg(int level, const char *fmt, ...)
{
	if (level == LOG_DEBUG && !debug_on)
		return;
	int saved = errno;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	/* Info goes to the console only while debugging: the serial log stays quiet. */
	if (level <= LOG_WARN || debug_on) {
		char line[1100];
		static const char *names[] = {"error", "warn", "info", "debug"};
		int n = snprintf(line, sizeof line, "runcvm-agent: %s: %s\n", names[level & 3],
				 msg);
		if (n > 0)
			console_write(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
	}
	if (port_on && log_chan && !in_port_write) {
		/* A failing port write logs again; the flag stops the recursion. */
		in_port_write = 1;
		uint8_t lv = (uint8_t)level;
		proto_send(log_chan, MSG_LOG, 0, &lv, 1, msg, strlen(msg));
		in_port_write = 0;
	}
	errno = saved;
}
