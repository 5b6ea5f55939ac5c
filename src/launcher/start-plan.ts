/**
 * The start plan: the handover state (handover.ts) plus what runcvm-supervisor spawns itself, so
 * that no Node launcher runs for the container at all. `create` computes it once the launcher's
 * sandbox exists and its network is handed over (runtime/vm-start.ts), with the same builders the
 * launcher uses (vm-from-spec.ts, vmm/qemu/argv.ts, the driver's virtiofsd arguments), and writes
 * it to START_PLAN_PATH in the sandbox's private run dir. The supervisor (supervisor/startplan.c,
 * vmstart.c) spawns virtiofsd, waits for its socket, spawns QEMU and goes on as after a handover.
 */
import { IMAGE_DISKS_DIR, type LaunchSpec, RUN_DIR, WRITTEN_BACK_MARKER } from '../contracts/launch-spec.ts';
import type { NetworkPlan } from '../network/setup.ts';
import { qemuArgv, qemuPaths } from '../vmm/qemu/argv.ts';
import { QEMU_BINARY, VIRTIOFSD_BINARY, virtiofsdArgs } from '../vmm/qemu/driver.ts';
import { HELLO_TIMEOUT_MS, STARTED_TIMEOUT_MS } from './hand-over.ts';
import { HandoverFlag, type HandoverState, HandoverTag, handoverRecords } from './handover.ts';
import { guestConfigFor, vmSpecFor } from './vm-from-spec.ts';

/** In the sandbox (src/launcher/supervisor/startplan.h, START_PLAN_PATH). */
export const START_PLAN_FILE = 'supervisor.start';
export const START_PLAN_PATH = `${RUN_DIR}/${START_PLAN_FILE}`;

export interface StartPlan extends HandoverState {
  /** virtiofsd's argv, binary first; empty when the VM shares no directory. */
  fsArgv: string[];
  /** The socket virtiofsd makes (when fsArgv is not empty). */
  fsSocket?: string;
  /** QEMU's argv, binary first. */
  vmmArgv: string[];
  /** The host log's "starting: …" line (startingLine). */
  startLine: string;
  /** QEMU's stdout is the container's stderr (the guest console, RUNCVM_KERNEL_DEBUG). */
  consoleToStderr: boolean;
}

/** The host log's first launcher line, the same whoever starts the VM. */
export function startingLine(spec: LaunchSpec): string {
  return `starting: ${spec.hypervisor} (${spec.accel}), ${spec.cpus} vCPU(s), ${spec.memoryMiB} MiB, root ${spec.rootImage ? 'image' : 'virtiofs'}${spec.volumes ? ', 9P volumes' : ''}`;
}

export interface StartPlanInputs {
  spec: LaunchSpec;
  /** The network as handed over in the sandbox's namespace (network/setup.ts). */
  net: NetworkPlan;
  /** The launcher's command line with `--net-sync` (net-sync.ts), as the sandbox sees it. */
  netSync: string[];
  /** The pod socket's directory is bound in (runtime/join.ts). */
  podSocket: boolean;
  timing: Record<string, number>;
}

/** Everything the supervisor needs to start and serve the VM (pure). Only QEMU with no disks to prepare. */
export function planStart(i: StartPlanInputs): StartPlan {
  const { spec, net } = i;
  if (spec.hypervisor !== 'qemu' || spec.volumes || spec.disks?.length || spec.hostCpus?.length)
    throw new Error('the start plan covers QEMU with no 9P volumes, RUNCVM_DISKS or --cpuset-cpus');
  const paths = qemuPaths(RUN_DIR);
  const vm = vmSpecFor(spec, RUN_DIR, [], net.nics);
  if (vm.fsShares.length > 1) throw new Error('the start plan covers one virtiofs share');
  const fs = vm.fsShares[0];
  return {
    spec,
    config: guestConfigFor(spec, net.guest),
    agentSocket: paths.agentSocket,
    consoleLog: paths.consoleLog,
    vmmName: 'qemu',
    helloTimeoutMs: HELLO_TIMEOUT_MS[spec.accel],
    startedTimeoutMs: STARTED_TIMEOUT_MS[spec.accel],
    dnsRelay: net.guest.dnsRelay,
    podSocket: i.podSocket,
    writtenBackMarker: `${IMAGE_DISKS_DIR}/${WRITTEN_BACK_MARKER}`,
    netSync: i.netSync,
    ...(spec.network === 'own' && !spec.swarmTask ? { netIfaces: net.guest.ifaces.map((x) => x.name) } : {}),
    timing: i.timing,
    fsArgv: fs ? [VIRTIOFSD_BINARY, ...virtiofsdArgs(fs.source, paths.fsSocket(fs.tag))] : [],
    ...(fs ? { fsSocket: paths.fsSocket(fs.tag) } : {}),
    vmmArgv: [QEMU_BINARY, ...qemuArgv(vm, paths)],
    startLine: startingLine(spec),
    consoleToStderr: vm.consoleToStderr,
  };
}

/** The plan file's bytes (pure): the handover records without the VMM's pids, then the start's. */
export function encodeStartPlan(p: StartPlan): Buffer {
  const w = handoverRecords(p, p.consoleToStderr ? HandoverFlag.CONSOLE_STDERR : 0);
  for (const a of p.fsArgv) w.string(HandoverTag.FS_ARG, a);
  if (p.fsSocket) w.string(HandoverTag.FS_SOCKET, p.fsSocket);
  for (const a of p.vmmArgv) w.string(HandoverTag.VMM_ARG, a);
  w.string(HandoverTag.START_LINE, p.startLine);
  return w.finish();
}
