/** The OCI process as the guest agent runs it (args, env, cwd, ids, terminal). */

import type { WorkloadProcess } from '../contracts/workload-process.ts';
import type { OciProcess } from '../oci/spec.ts';

export function workloadOf(p: OciProcess): WorkloadProcess {
  return {
    args: [...p.args],
    // RUNCVM_* options are runcvm's, not the workload's (docs/options.md): the guest never sees them.
    env: (p.env ?? []).filter((e) => !e.startsWith('RUNCVM_')),
    cwd: p.cwd || '/',
    uid: p.user.uid,
    gid: p.user.gid,
    groups: [...(p.user.additionalGids ?? [])],
    terminal: p.terminal === true,
    ...(p.consoleSize ? { consoleSize: { rows: p.consoleSize.height, cols: p.consoleSize.width } } : {}),
  };
}
