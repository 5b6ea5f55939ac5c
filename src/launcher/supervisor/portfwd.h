/* CRI PortForward into a pod VM (docs/engines.md, "PortForward"), the supervisor's half. The
 * launcher diverted the pod namespace's loopback TCP to a relay port (an iptables REDIRECT) before
 * handing over; the supervisor listens there and hands each accepted connection, whole and unread,
 * to runcvm-exec as its stdin and stdout. runcvm-exec reads the port the connection was meant for
 * (SO_ORIGINAL_DST) and asks the guest agent to connect to it. Nothing is buffered here: at most
 * PF_MAX_STREAMS streams at once (more are closed at once), and what a failed stream's client said
 * is kept to PF_SAID_MAX bytes for the report. */
#ifndef RUNCVM_SUPERVISOR_PORTFWD_H
#define RUNCVM_SUPERVISOR_PORTFWD_H

#include <stdint.h>
#include <sys/types.h>

#define PF_MAX_STREAMS 64
#define PF_SAID_MAX    1024
/* As src/contracts/launch-spec.ts (EXEC_START_ENV, EXEC_PORT_ENV), checked by its unit test. */
#define PF_START_ENV "RUNCVM_EXEC_START"
#define PF_PORT_ENV  "RUNCVM_EXEC_PORT_OF_STDIN"

struct pf_stream {
	pid_t pid; /* 0: free */
	int errfd; /* the read end of the client's stderr pipe */
};

struct portfwd {
	int fd; /* the listener, -1 when none */
	struct pf_stream s[PF_MAX_STREAMS];
	int active;
	unsigned long refused;
	const char *client;
	char *envp[3]; /* PF_START_ENV=…, PF_PORT_ENV=1 */
	void (*problem)(const char *msg);
};

/* Listens on 127.0.0.1:port. 0, or -1 with errno (the message for problem in err). */
int portfwd_open(struct portfwd *pf, uint16_t port, const char *client, const char *start_b64,
		 void (*problem)(const char *msg));

/* Accepts what waits on the listener, each connection to a client of its own. */
void portfwd_accept(struct portfwd *pf);

/* A child was reaped: 1 when it was a stream's client (reported if it failed), else 0. */
int portfwd_reaped(struct portfwd *pf, pid_t pid, int status);

/* No new stream (the workload is done); streams running end with their client. */
void portfwd_close(struct portfwd *pf);

#endif
