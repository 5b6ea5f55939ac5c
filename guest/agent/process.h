/* Processes the host started: spawning, stdio relay, exit reporting. */
#ifndef RUNCVM_PROCESS_H
#define RUNCVM_PROCESS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "proto.h"
#include "writeback.h"

struct proc;
struct poll_ref;

/* The process table: every process the host started, queued stdin, and the namespaces new
 * processes join. One per agent, in struct agent (agent.h); procs_init sets it up. */
struct procs {
	struct proc *list;
	size_t n;
	struct poll_ref *refs; /* what each pollfd of procs_fill_poll stands for */
	size_t nrefs_cap;
	size_t backlog;		    /* stdin bytes queued over every process */
	int root_pidns;		    /* the agent's own PID namespace, to return to after a fork */
	int init_pidns, init_mntns; /* process 1's, for exec processes; opened at the first */
	int init_done;		    /* EXIT of process 1 sent */
	struct ctrs *ctrs;	    /* borrowed: the pod's containers (struct agent) */
	struct chan *ch;	    /* borrowed: the channel to the host */
	struct imgroot *ir; /* borrowed: the image root's write-back, run at process 1's exit */
	uint8_t out_buf[DATA_MAX]; /* one read of a process's stdout or stderr */
};

int procs_init(struct procs *t, struct ctrs *ctrs, struct chan *ch, struct imgroot *ir);
/* START id: returns -1 when the VM must power off (process 1 could not start). */
int procs_start(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len);
void procs_stdin(struct procs *t, uint32_t id, const uint8_t *data, uint32_t len);
void procs_signal(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len);
void procs_resize(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len);
/* WINDOW id: u32 stdout, u32 stderr credit the host grants back (docs/agent-protocol.md). */
void procs_window(struct procs *t, uint32_t id, const uint8_t *payload, uint32_t len);

/* Upper bound of pollfds procs_fill_poll may add. */
size_t procs_poll_max(struct procs *t);
size_t procs_fill_poll(struct procs *t, struct pollfd *pfd, size_t max);
/* Handles the revents of the entries procs_fill_poll added (same order). */
void procs_handle_poll(struct procs *t, const struct pollfd *pfd, size_t n);
/* Collects every exited child (the agent is PID 1 and reaps orphans too). */
void procs_reap(struct procs *t);
/* True while queued stdin is so large that the port should not be read. */
int procs_stdin_backlogged(struct procs *t);
/* True once EXIT of process 1 has been sent. */
int procs_init_done(struct procs *t);
/* Process 1's life is over without it having run (write-back only): the shutdown wait applies. */
void procs_set_init_done(struct procs *t);

#endif
