/* The start plan: what runcvm-supervisor spawns itself when no Node launcher starts the VM
 * (docs/architecture.md, The supervisor). `runtime create` writes it once the launcher's sandbox
 * exists and its network is handed over (src/runtime/vm-start.ts, src/launcher/start-plan.ts):
 * the handover records (handover.h) without the VMM's pids, plus virtiofsd's and QEMU's argv,
 * the socket virtiofsd makes and the host log's "starting" line. */
#ifndef RUNCVM_SUPERVISOR_STARTPLAN_H
#define RUNCVM_SUPERVISOR_STARTPLAN_H

#include <stddef.h>
#include <stdint.h>

#define START_PLAN_PATH	     "/run/runcvm/supervisor.start"
#define STARTPLAN_FS_ARGS    32
#define STARTPLAN_VMM_ARGS   256
#define STARTPLAN_BUF	     (64 * 1024)
#define STARTPLAN_LINE_MAX   512
#define STARTPLAN_SOCKET_MAX 108

struct startplan {
	char buf[STARTPLAN_BUF]; /* every argv word, NUL-terminated */
	char *fs_argv[STARTPLAN_FS_ARGS + 1];
	int nfs;
	char *vmm_argv[STARTPLAN_VMM_ARGS + 1];
	int nvmm;
	char fs_socket[STARTPLAN_SOCKET_MAX];
	char start_line[STARTPLAN_LINE_MAX];
};

/* The start records of buf (the handover's are handover_parse's). 0, or -1 with the reason: a
 * bad or oversized record, no QEMU argv, a virtiofsd without its socket or the other way round,
 * a binary that is not an absolute path. */
int startplan_parse(const uint8_t *buf, size_t len, struct startplan *p, char *err, size_t errlen);

/* Reads the whole file at path (a regular file, not through a symlink, at most max bytes) into a
 * new buffer and removes it, so a restarted supervisor never starts the same VM twice. 1 when
 * read, 0 when there is no such file, -1 with the reason. */
int startplan_read(const char *path, size_t max, uint8_t **buf, size_t *len, char *err,
		   size_t errlen);

#endif
