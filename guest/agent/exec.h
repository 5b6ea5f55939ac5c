/* The child side of START: namespaces, stdio, credentials, cwd, PATH lookup, execve. */
#ifndef RUNCVM_EXEC_H
#define RUNCVM_EXEC_H

#include <stdint.h>

#include "agenterr.h"
#include "config.h"
#include "container.h"

struct child_spec {
	const struct start_req *req;
	int new_mount_ns; /* process 1: own mount namespace with its own /proc */
	int join_mnt_fd;  /* exec processes: process 1's mount namespace, else -1 */
	int stdio[3];	  /* child ends (all the pty slave with a terminal) */
	int terminal;
	int report_fd; /* CLOEXEC pipe: silent on success, one struct agent_err on failure */
	int tool_fd;   /* the program to run (START's TOOL, a sealed memfd), else -1 */
	const struct ctrs *ctrs; /* the pod's running containers, for JOIN */
	/* A terminal of a pod-VM container (CONTAINER or JOIN): the child opens the pty in the
	 * container's own devpts, once inside its namespaces, and sends the master over this
	 * socket (SCM_RIGHTS); stdio[] is then unused. Else -1. */
	int pty_sock;
};

void child_run(const struct child_spec *c) __attribute__((noreturn));

#endif
