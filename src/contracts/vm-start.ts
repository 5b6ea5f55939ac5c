/**
 * What `runtime create` hands the launcher's pre-VM step when no Node launcher will run
 * (launcher/vm-start.ts, runtime/data-plane.ts vmStart 'supervisor'): runtime/ and launcher/ never
 * import each other, so the CLI passes that step to create as a StartVm.
 */
import type { LaunchSpec } from './launch-spec.ts';

export interface VmStartInputs {
  containerId: string;
  /** spec.json as written for the sandbox. */
  launch: LaunchSpec;
  /** The sandbox's init, once `runc create` made it. */
  pid: number;
  /** The launcher's command line as the sandbox runs it (the rewritten process args). */
  launcherArgs: readonly string[];
  /** The pod socket's directory is bound in (runtime/join.ts). */
  podSocket: boolean;
  /** Docker's resolv.conf for the container, as the guest will see it. */
  resolvConf: string;
}

/** Hands the network over and writes the start plan; throws with the container and step, having undone its part. */
export type StartVm = (i: VmStartInputs) => void;
