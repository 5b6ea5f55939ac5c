/*
 * The process `docker exec` asked for (containerd's process.json, an OCI process) as the guest
 * agent runs it, and the two things made of it: the agent's START payload and the process JSON
 * runc gets instead, which starts runcvm's exec client. The TypeScript side has the same
 * mapping (src/runtime/workload.ts, src/agent-protocol/messages.ts encodeStart); the exec-prep
 * unit test checks this program against it.
 */
#ifndef EXEC_PREP_PROCESS_H
#define EXEC_PREP_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/* Where the install prefix appears in every runcvm container (contracts/launch-spec.ts). */
#define PREFIX_IN_CONTAINER "/opt/runcvm"
#define EXEC_CLIENT	    PREFIX_IN_CONTAINER "/bin/runcvm-exec"
/* The exec client's environment variable: the START payload, base64 (runcvm-exec.c). */
#define START_ENV "RUNCVM_EXEC_START"

struct exec_process {
	char **args;
	size_t nargs;
	/* Without RUNCVM_* entries: those are runcvm's options, never the workload's. */
	char **env;
	size_t nenv;
	char *cwd;
	uint32_t uid, gid;
	uint32_t *groups;
	size_t ngroups;
	int terminal;
	int has_size;
	uint16_t rows, cols;
};

/* Reads the OCI process at the top of d. 0, or -1 with err naming the field. */
int process_read(const struct json_doc *d, struct exec_process *p, char *err, size_t errlen);
void process_free(struct exec_process *p);
/* The value of the last KEY=... entry of the env, or NULL. */
const char *process_env(const struct exec_process *p, const char *key);
/* Appends the agent's START payload (TLV records, docs/agent-protocol.md). 0 or -1 (too large). */
int process_start_payload(const struct exec_process *p, struct buf *out);
/* Appends the process JSON runc starts instead: every member of the original except args, env,
 * cwd, user and capabilities, copied verbatim, then the exec client's (no capabilities, root,
 * cwd /, the START payload in its env as start_b64). 0 or -1 (too large). */
int process_client_json(const struct json_doc *d, const char *start_b64, struct buf *out);

#endif
