/* Processes the host started: spawning, stdio relay, exit reporting. */
#ifndef RUNCVM_PROCESS_H
#define RUNCVM_PROCESS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

int procs_init(void);
/* START id: returns -1 when the VM must power off (process 1 could not start). */
int procs_start(uint32_t id, const uint8_t *payload, uint32_t len);
void procs_stdin(uint32_t id, const uint8_t *data, uint32_t len);
void procs_signal(uint32_t id, const uint8_t *payload, uint32_t len);
void procs_resize(uint32_t id, const uint8_t *payload, uint32_t len);
/* WINDOW id: u32 stdout, u32 stderr credit the host grants back (docs/agent-protocol.md). */
void procs_window(uint32_t id, const uint8_t *payload, uint32_t len);

/* Upper bound of pollfds procs_fill_poll may add. */
size_t procs_poll_max(void);
size_t procs_fill_poll(struct pollfd *pfd, size_t max);
/* Handles the revents of the entries procs_fill_poll added (same order). */
void procs_handle_poll(const struct pollfd *pfd, size_t n);
/* Collects every exited child (the agent is PID 1 and reaps orphans too). */
void procs_reap(void);
/* True while queued stdin is so large that the port should not be read. */
int procs_stdin_backlogged(void);
/* True once EXIT of process 1 has been sent. */
int procs_init_done(void);
/* Process 1's life is over without it having run (write-back only): the shutdown wait applies. */
void procs_set_init_done(void);

#endif
