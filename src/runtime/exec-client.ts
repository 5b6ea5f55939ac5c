/**
 * The process runc starts instead of a guest process: runcvm-exec (src/launcher/exec), which
 * talks to the launcher's exec socket. Used for `docker exec` (exec.ts) and, in a pod VM, for
 * every app container and every exec into one (pod-vm.ts).
 */
import { encodeStart, type PodPlacement } from '../agent-protocol/messages.ts';
import { EXEC_START_ENV, PREFIX_IN_CONTAINER } from '../contracts/launch-spec.ts';
import type { OciProcess } from '../oci/spec.ts';
import { workloadOf } from './workload.ts';

export { EXEC_START_ENV } from '../contracts/launch-spec.ts';
/** What the client says instead of its own message when the launcher closes the connection. */
export const EXEC_LOST_ENV = 'RUNCVM_EXEC_LOST';

/**
 * runcvm-exec with no capabilities and cwd / (never created in the runtime root). The START
 * payload is encoded here so the static client only has to decode base64.
 */
export function execClientProcess(p: OciProcess, pod?: PodPlacement, extraEnv: string[] = []): OciProcess {
  return {
    ...p,
    args: [`${PREFIX_IN_CONTAINER}/bin/runcvm-exec`],
    env: [
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/run',
      `${EXEC_START_ENV}=${encodeStart(workloadOf(p), pod).toString('base64')}`,
      ...extraEnv,
    ],
    cwd: '/',
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
  };
}
