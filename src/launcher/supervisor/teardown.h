/* The volume server's teardown once its VM is gone (docs/storage.md, "9P volumes"): the file
 * servers are killed and waited for, then the commands the launcher precomputed (HO_STOP_CMD: the
 * firewall rule's removal, then the tap's) run in order, each bounded in time and output. The
 * container's network namespace can outlive it (a joined --network container:X, a pod's), so
 * nothing of the link may be left there. */
#ifndef RUNCVM_SUPERVISOR_TEARDOWN_H
#define RUNCVM_SUPERVISOR_TEARDOWN_H

#include <stddef.h>
#include <sys/types.h>

#define TEARDOWN_WAIT_MS    2000
#define TEARDOWN_CMD_MS	    10000
#define TEARDOWN_OUTPUT_MAX 1024

/* SIGKILLs every pid > 0 of pids and waits for them, at most TEARDOWN_WAIT_MS in all; a pid
 * waited for (or not a child any more) is set to 0. Returns how many are still running. */
int teardown_kill(pid_t *pids, int n);

/* Runs argv (execvp, stdin /dev/null), its stdout and stderr into out (at most cap - 1 bytes kept,
 * NUL-terminated), for at most timeout_ms before SIGKILL. Returns its status as a shell's $?
 * (128+N for a signal), or -1 with errno when it could not start. */
int teardown_run(char *const argv[], int timeout_ms, char *out, size_t cap);

#endif
