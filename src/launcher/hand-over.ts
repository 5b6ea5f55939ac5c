/**
 * The launcher's last step under runcvm-supervisor, when it started the VM (RUNCVM_DISKS,
 * --cpuset-cpus, Firecracker: runtime/data-plane.ts; otherwise create's start plan lets the supervisor start
 * it, start-plan.ts): the state for the supervisor (handover.ts)
 * and the network watch's first state (net-sync.ts). Which containers get the supervisor is
 * decided once, at create (runtime/data-plane.ts); this only refuses a VM whose processes the
 * supervisor could not take over (no VMM pids), and the launcher then runs the container itself.
 */
import { existsSync } from 'node:fs';
import {
  IMAGE_DISKS_DIR,
  type LaunchSpec,
  POD_SOCKET_DIR,
  RUN_DIR,
  WRITTEN_BACK_MARKER,
} from '../contracts/launch-spec.ts';
import type { NetworkPlan } from '../network/setup.ts';
import type { RunningVm } from '../vmm/driver.ts';
import { AGENT_VSOCK_PORT } from '../vmm/firecracker/config.ts';
import { firecrackerPaths } from '../vmm/firecracker/driver.ts';
import { qemuPaths } from '../vmm/qemu/argv.ts';
import type { VolumeServer } from '../volumes/server.ts';
import { type Handover, writeHandover } from './handover.ts';
import { NET_SYNC_FLAG, saveNetWatch } from './net-sync.ts';
import type { PodLogCopy } from './pod-log.ts';
import { MAX_BYTES as POD_LOG_MAX } from './pod-log.ts';
import { STREAM_CLIENT, streamStart } from './port-forward.ts';
import { guestConfigFor } from './vm-from-spec.ts';

/**
 * Where the supervisor reaches the agent: QEMU's agent socket (and its console log, for error
 * messages); Firecracker's vsock socket with the port to CONNECT to, and its API socket (its
 * console is in its own output, which the supervisor's pipe carries).
 */
function agentEndpoint(spec: LaunchSpec): Pick<Handover, 'agentSocket' | 'consoleLog' | 'firecracker'> {
  if (spec.hypervisor === 'firecracker') {
    const fc = firecrackerPaths(RUN_DIR);
    return {
      agentSocket: fc.vsockSocket,
      consoleLog: '',
      firecracker: { vsockPort: AGENT_VSOCK_PORT, apiSocket: fc.apiSocket },
    };
  }
  const paths = qemuPaths(RUN_DIR);
  return { agentSocket: paths.agentSocket, consoleLog: paths.consoleLog };
}

/** As the launcher's own budgets (launcher.ts): TCG on a loaded host boots 3-10x slower than KVM. */
export const HELLO_TIMEOUT_MS = { kvm: 30_000, tcg: 180_000 } as const;
export const STARTED_TIMEOUT_MS = { kvm: 60_000, tcg: 300_000 } as const;

export function handOverToSupervisor(
  path: string,
  spec: LaunchSpec,
  vm: RunningVm,
  net: NetworkPlan,
  timing: Record<string, number>,
  extra: {
    /** The 9P server: adopted as a helper; its link removed by the supervisor after the VM. */
    volumes?: VolumeServer;
    /** A pod VM's log copy: the supervisor goes on with what is left of the cap. */
    podLog?: PodLogCopy;
    /** A pod VM's PortForward relay port, its REDIRECT rule already set. */
    relayPort?: number;
  } = {},
): boolean {
  const pids = vm.pids;
  if (!pids) return false;
  const { volumes, podLog, relayPort } = extra;
  // From here on, what the VMM and its helpers write stays in the supervisor's pipes for it to read.
  vm.releaseOutput?.();
  if (spec.network === 'own')
    saveNetWatch(
      net.guest.ifaces.map((i) => i.name),
      net.guest.spares.length,
    );
  writeHandover(path, {
    spec,
    config: { ...guestConfigFor(spec, net.guest), ...(vm.driveOrder ? { driveOrder: vm.driveOrder } : {}) },
    ...agentEndpoint(spec),
    vmmName: spec.hypervisor,
    vmmPid: pids.vmm,
    helperPids: volumes ? [...pids.helpers, volumes.pid] : pids.helpers,
    helloTimeoutMs: HELLO_TIMEOUT_MS[spec.accel],
    startedTimeoutMs: STARTED_TIMEOUT_MS[spec.accel],
    dnsRelay: net.guest.dnsRelay,
    // Bound in by create for a joinable container (runtime/join.ts): its joiners' clients connect there.
    podSocket: existsSync(POD_SOCKET_DIR),
    writtenBackMarker: `${IMAGE_DISKS_DIR}/${WRITTEN_BACK_MARKER}`,
    netSync: [process.execPath, ...process.execArgv, process.argv[1] as string, 'launcher', NET_SYNC_FLAG],
    ...(spec.network === 'own' && !spec.swarmTask ? { netIfaces: net.guest.ifaces.map((i) => i.name) } : {}),
    timing,
    ...(podLog?.path ? { podLog: { path: podLog.path, budget: Math.max(0, POD_LOG_MAX - podLog.written()) } } : {}),
    ...(relayPort ? { portForward: { port: relayPort, client: STREAM_CLIENT, start: streamStart() } } : {}),
    ...(volumes ? { stopCommands: volumes.stopCommands } : {}),
  });
  return true;
}
