/**
 * The launcher's handover to runcvm-supervisor (src/launcher/supervisor), the container's data
 * plane in static C. The supervisor runs the launcher as its child; once the VMM runs, the
 * launcher writes what the supervisor needs into one file of TLV records (the agent protocol's
 * u16 tag, u32 length, bytes: the C side already parses those), atomically, in the container's
 * private run dir, and exits. QEMU and virtiofsd (or Firecracker) stay running, and the
 * supervisor (their child subreaper) takes them over. Tags: src/launcher/supervisor/handover.h, checked by the unit test.
 */

import { encodeConfig, encodeStart, type VmConfig } from '../agent-protocol/messages.ts';
import { TlvWriter } from '../agent-protocol/tlv.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { RuncvmError } from '../contracts/errors.ts';
import type { LaunchSpec } from '../contracts/launch-spec.ts';
import type { StderrPipes } from '../vmm/vm-spec.ts';

export const HandoverTag = {
  AGENT_SOCKET: 1,
  CONFIG: 2,
  START: 3,
  VMM_PID: 4,
  HELPER_PID: 5,
  CONSOLE_LOG: 6,
  HELLO_TIMEOUT_MS: 7,
  STARTED_TIMEOUT_MS: 8,
  FLAGS: 9,
  TIMING: 10,
  NET_SYNC_ARG: 11,
  VMM_NAME: 12,
  WRITTEN_BACK: 13,
  /** The container's interfaces as handed over, NUL-separated: the network watch's first look (netwatch.c). */
  NET_IFACES: 14,
  // The start plan (runtime/vm-start.ts): what the supervisor spawns when no launcher starts the VM.
  /** virtiofsd's argv, one record per word, the binary first. */
  FS_ARG: 20,
  /** QEMU's argv, one record per word, the binary first. */
  VMM_ARG: 21,
  /** The socket virtiofsd makes, waited for before QEMU starts. */
  FS_SOCKET: 22,
  /** The host log's "starting: …" line, as the launcher writes it. */
  START_LINE: 23,
  /** A pod VM's log (pod-log.ts): what the supervisor says on stderr is copied there too. */
  POD_LOG: 30,
  /** Bytes of the pod log's cap the launcher left. */
  POD_LOG_BUDGET: 31,
  /** CRI PortForward (port-forward.ts): the relay port the launcher's REDIRECT rule targets. */
  PORT_FORWARD_PORT: 32,
  PORT_FORWARD_CLIENT: 33,
  /** The START each stream sends, base64, as runcvm-exec takes it from its environment. */
  PORT_FORWARD_START: 34,
  /** One command, its arguments NUL-separated, run once the VM and its helpers are gone. */
  STOP_CMD: 35,
  /** Firecracker: AGENT_SOCKET is its vsock Unix socket, reached with `CONNECT <VSOCK_PORT>`. */
  VSOCK_PORT: 40,
  /** Firecracker: its API socket, for SendCtrlAltDel when the guest does not power off. */
  API_SOCKET: 41,
} as const;

export const HandoverFlag = {
  TERMINAL: 1,
  DEBUG: 2,
  DNS_RELAY: 4,
  ROOT_IMAGE: 8,
  NET_WATCH: 16,
  PRINT_TIMING: 32,
  /** Serve the pod socket too: other containers run in this VM (runtime/join.ts). */
  POD_SOCKET: 64,
  /** The start plan's QEMU writes the guest console to the container's stderr (RUNCVM_KERNEL_DEBUG). */
  CONSOLE_STDERR: 128,
} as const;

/** The environment variable the supervisor sets: where to write the state. */
export const HANDOVER_ENV = 'RUNCVM_SUPERVISOR_STATE';

/**
 * The environment variable the supervisor sets: the four descriptors of its stderr pipes the
 * launcher inherits, `VMM_READ,VMM_WRITE,FILE_SERVER_READ,FILE_SERVER_WRITE` (supervisor.c,
 * STDERR_FD_FIRST). QEMU and virtiofsd write to them for their whole life, so the supervisor can
 * keep their output in the host log after the launcher is gone.
 */
export const STDERR_PIPES_ENV = 'RUNCVM_SUPERVISOR_STDERR';

/** The pipes named by STDERR_PIPES_ENV; undefined when it is unset (not under the supervisor). */
export function parseStderrPipes(value: string | undefined): StderrPipes | undefined {
  if (value === undefined || value === '') return undefined;
  const fds = value.split(',').map((f) => (/^\d{1,4}$/.test(f) ? Number(f) : Number.NaN));
  if (fds.length !== 4 || fds.some((f) => !(f > 2)) || new Set(fds).size !== 4)
    throw new RuncvmError(
      'internal',
      `${STDERR_PIPES_ENV}: "${value.slice(0, 64)}" is not four distinct descriptors above 2 (runcvm-supervisor and the launcher of different installs?)`,
    );
  const [vr, vw, fr, fw] = fds as [number, number, number, number];
  return { vmm: { read: vr, write: vw }, fileServer: { read: fr, write: fw } };
}

/** What the supervisor needs whoever started the VM; the VMM's pids come from the launcher. */
export type HandoverState = Omit<Handover, 'vmmPid' | 'helperPids'>;

export interface Handover {
  spec: LaunchSpec;
  config: VmConfig;
  agentSocket: string;
  consoleLog: string;
  vmmName: string;
  vmmPid: number;
  helperPids: number[];
  helloTimeoutMs: number;
  startedTimeoutMs: number;
  dnsRelay: boolean;
  /** Other containers run in this VM through the pod socket (runtime/join.ts). */
  podSocket: boolean;
  writtenBackMarker: string;
  /** The launcher's own command line with `--net-sync`, run on netlink events (net-sync.ts). */
  netSync: string[];
  /**
   * The container's interfaces as handed over (network/setup.ts), when it has its own network:
   * the supervisor compares the namespace with them once the workload runs, and runs the net-sync
   * step only if they differ.
   */
  netIfaces?: string[];
  /** A pod VM's log file and what is left of its cap (pod-log.ts). */
  podLog?: { path: string; budget: number };
  /** CRI PortForward into a pod VM: the rule is set, the supervisor listens (port-forward.ts). */
  portForward?: { port: number; client: string; start: string };
  /** The volume server's teardown (volumes/server.ts): the firewall rule's removal, then the tap's. */
  stopCommands?: string[][];
  timing: Record<string, number>;
  /** Firecracker: the agent is behind its vsock socket's handshake; the API socket stops the VM. */
  firecracker?: { vsockPort: number; apiSocket: string };
}

function flags(h: HandoverState): number {
  const s = h.spec;
  return (
    (s.process.terminal ? HandoverFlag.TERMINAL : 0) |
    (s.runtimeDebug ? HandoverFlag.DEBUG : 0) |
    (h.dnsRelay ? HandoverFlag.DNS_RELAY : 0) |
    (s.rootImage ? HandoverFlag.ROOT_IMAGE : 0) |
    (s.network === 'own' ? HandoverFlag.NET_WATCH : 0) |
    (s.printTiming ? HandoverFlag.PRINT_TIMING : 0) |
    (h.podSocket ? HandoverFlag.POD_SOCKET : 0)
  );
}

/** The records of every state file but the VMM's pids (start-plan.ts adds its own). */
export function handoverRecords(h: HandoverState, extraFlags = 0): TlvWriter {
  const w = new TlvWriter()
    .string(HandoverTag.AGENT_SOCKET, h.agentSocket)
    .bytes(HandoverTag.CONFIG, encodeConfig(h.config))
    .bytes(HandoverTag.START, encodeStart(h.spec.process))
    .string(HandoverTag.CONSOLE_LOG, h.consoleLog)
    .u32(HandoverTag.HELLO_TIMEOUT_MS, h.helloTimeoutMs)
    .u32(HandoverTag.STARTED_TIMEOUT_MS, h.startedTimeoutMs)
    .u32(HandoverTag.FLAGS, flags(h) | extraFlags)
    .string(HandoverTag.TIMING, JSON.stringify({ ...h.spec.timing, ...h.timing }))
    .string(HandoverTag.VMM_NAME, h.vmmName)
    .string(HandoverTag.WRITTEN_BACK, h.writtenBackMarker);
  for (const a of h.netSync) w.string(HandoverTag.NET_SYNC_ARG, a);
  if (h.netIfaces) w.bytes(HandoverTag.NET_IFACES, netIfacesRecord(h.netIfaces));
  if (h.firecracker)
    w.u32(HandoverTag.VSOCK_PORT, h.firecracker.vsockPort).string(HandoverTag.API_SOCKET, h.firecracker.apiSocket);
  return w;
}

/** Interface names as netwatch.c parses them: each 1-15 bytes, no NUL, at most 16. */
function netIfacesRecord(names: readonly string[]): Buffer {
  const bad = names.find((n) => n === '' || n.includes('\0') || Buffer.byteLength(n) > 15);
  if (bad !== undefined || names.length > 16)
    throw new RuncvmError(
      'internal',
      `handover: interface names ${JSON.stringify(names)}: at most 16, each 1-15 bytes without NUL`,
    );
  return Buffer.from(names.join('\0'));
}

/** The state file's bytes (pure). */
export function encodeHandover(h: Handover): Buffer {
  const w = handoverRecords(h).u32(HandoverTag.VMM_PID, h.vmmPid);
  for (const p of h.helperPids) w.u32(HandoverTag.HELPER_PID, p);
  if (h.podLog) w.string(HandoverTag.POD_LOG, h.podLog.path).u32(HandoverTag.POD_LOG_BUDGET, h.podLog.budget);
  if (h.portForward)
    w.u32(HandoverTag.PORT_FORWARD_PORT, h.portForward.port)
      .string(HandoverTag.PORT_FORWARD_CLIENT, h.portForward.client)
      .string(HandoverTag.PORT_FORWARD_START, h.portForward.start);
  for (const c of h.stopCommands ?? []) {
    // The C side splits on NUL: an argument must be neither empty nor hold one.
    if (c.length === 0 || c.some((a) => a === '' || a.includes('\0')))
      throw new RuncvmError('internal', `handover: teardown command ${JSON.stringify(c)} has an empty or NUL argument`);
    w.bytes(HandoverTag.STOP_CMD, Buffer.from(c.join('\0')));
  }
  return w.finish();
}

export function writeHandover(path: string, h: Handover): void {
  writeFileAtomic(path, encodeHandover(h), 0o600);
}
