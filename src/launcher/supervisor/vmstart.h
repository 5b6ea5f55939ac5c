/* Spawning the start plan's virtiofsd and QEMU (startplan.h) from runcvm-supervisor, as the Node
 * launcher's QEMU driver does (src/vmm/qemu/driver.ts): virtiofsd first, its socket waited for
 * (bounded; its death reported with what it wrote to stderr), then QEMU. */
#ifndef RUNCVM_SUPERVISOR_VMSTART_H
#define RUNCVM_SUPERVISOR_VMSTART_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* As the driver's SOCKET_TIMEOUT_MS and poll interval. */
#define VMSTART_SOCKET_TIMEOUT_MS 10000
#define VMSTART_POLL_MS		  5

/* Starts argv (argv[0] an absolute path) with stdin on /dev/null, stdout on out_fd (or
 * /dev/null when -1), stderr on err_fd, no other descriptor, and the signal mask `mask`. The
 * child's own failure to start is written to err_fd and it exits 127. The pid, or -1 with err. */
pid_t vmstart_spawn(char *const argv[], int out_fd, int err_fd, const sigset_t *mask, char *err,
		    size_t errlen);

/* Waits up to timeout_ms for the socket at path while pid runs. 0 once it is there; -1 with the
 * reason: pid exited (its status and what err_read holds of its stderr; pid is reaped), the
 * timeout, or path that is no socket. */
int vmstart_wait_socket(pid_t pid, const char *path, int err_read, long timeout_ms, char *err,
			size_t errlen);

#endif
