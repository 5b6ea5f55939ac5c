/*
 * The shim's resident part: a ttrpc proxy between containerd and the pod's runc shim
 * (containerd-shim-runc-v2). Every frame is passed through whole, in order, both ways, except
 * a Task.Stats request for a container of a pod VM, which it answers itself from the guest
 * (stats.h, guest.h), and a Task.Create request, whose options it makes the runc shim's
 * (create.h). One upstream connection per containerd connection.
 */
#ifndef RUNCVM_SHIM_PROXY_H
#define RUNCVM_SHIM_PROXY_H

struct proxy_cfg {
	/* Listening socket containerd connects to. */
	int listen_fd;
	/* The runc shim's socket path. */
	const char *upstream;
	/* An idle connection to the runc shim: when it ends (the runc shim exited), so does the
	 * proxy. (The runc shim's daemon is not the process that made its socket, so its pid is
	 * not the socket's peer.) */
	int watch_fd;
	/* containerd's task dir of the namespace: <nsdir>/<task id> is a task's bundle. */
	int nsdir;
	/* Where errors are written (containerd's shim log), or -1. */
	int log_fd;
	/* runcvm-runtime: the runc the runc shim is told to run (create.h). */
	const char *runc_binary;
};

/* Runs until the runc shim exits. 0, or -1 when poll itself fails. */
int proxy_run(const struct proxy_cfg *c);

#endif
