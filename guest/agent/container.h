/*
 * Further containers of a pod VM (START with CONTAINER or JOIN, docs/agent-protocol.md): each
 * has its own root (/.runcvm-pod/<name>, which the host bind-mounts into the pod's share), its own
 * mount, PID, UTS and cgroup namespaces and a cgroup of its own with the memory limit the host
 * sent; the network and IPC namespaces are the VM's, shared by every container of the pod.
 */
#ifndef RUNCVM_CONTAINER_H
#define RUNCVM_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define POD_ROOT "/.runcvm-pod"
/* A VM joined by docker --network container:X: the host binds the join share over /proc. */
#define JOIN_ROOT "/proc"

struct ctr;
/* The pod VM's running containers (their names and namespaces), for JOIN. One per agent, in
 * struct agent (agent.h); starts empty (zeroed). */
struct ctrs {
	struct ctr *list;
};

/* Parent, before the fork of a CONTAINER start: refuses a name already running (EEXIST), makes
 * its cgroup with the memory limit. 0, or -1 with e filled. */
int container_prepare(const struct ctrs *t, const struct start_req *r, struct agent_err *e);
/* START with UPDATE: writes the limits it carries to that running container's cgroup (runc
 * update). 0, or -1 with e filled (ESRCH: no such container running). */
int container_update(const struct ctrs *t, const struct start_req *r, struct agent_err *e);
/* START with STATS: that running container's guest cgroup figures as a STATS payload in out
 * (CGSTATS_MAX bytes), *len set. 0, or -1 with e filled (ESRCH: no such container running). */
int container_stats(const struct ctrs *t, const char *name, uint8_t *out, size_t *len,
		    struct agent_err *e);
/* Parent, after a failed start or an exit: removes the cgroup (best effort). */
void container_discard(const char *name);
/* Parent, once the container's first process runs: keeps its namespaces for JOIN. */
void container_started(struct ctrs *t, const char *name, pid_t pid);
/* Parent, at the exit of the container's first process: 1 when the cgroup's OOM killer killed a
 * process of it (memory.events oom_kill), else 0; forgets the container. */
int container_exited(struct ctrs *t, const char *name);
/* The PID namespace fd of a running container for JOIN, or -1 (ESRCH). */
int container_pidns(const struct ctrs *t, const char *name);

/* Child steps (after the fork in the new PID namespace). Both return 0, or -1 with errno set and
 * *step naming what failed. */
int container_enter(const struct start_req *r, const char **step);
int container_join(const struct ctrs *t, const struct start_req *r, const char **step);

#endif
