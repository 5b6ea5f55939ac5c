/**
 * Typed payloads of the agent protocol messages (docs/agent-protocol.md), encoded and decoded
 * in one place so the host never builds bytes by hand elsewhere.
 */
import type { GuestMount } from '../contracts/guest-mount.ts';
import type { GuestNetwork, NetIface, NetRoute } from '../contracts/guest-network.ts';
import type { VolumeLink } from '../contracts/volume-server.ts';
import { FILE_IN_EXPORT } from '../contracts/volume-server.ts';
import type { WorkloadProcess } from '../contracts/workload-process.ts';
import { TlvWriter } from './tlv.ts';

export const ConfigTag = {
  HOSTNAME: 1,
  ROOT_TAG: 2,
  ROOT_READONLY: 3,
  BIND: 4,
  TMPFS: 5,
  DEBUG: 6,
  NIC: 7,
  ROUTE: 8,
  DNS_RELAY: 9,
  DISK: 10,
  SPARE: 11,
  ROOT_LOWER: 12,
  ROOT_UPPER: 13,
  ROOT_HOST_9P: 14,
  VOLUME_LINK: 15,
  VOLUME_9P: 16,
  DRIVE_ORDER: 22,
  WRITEBACK_ONLY: 23,
  SYSCTL: 24,
} as const;
export const StartTag = {
  ARG: 1,
  ENV: 2,
  CWD: 3,
  UID: 4,
  GID: 5,
  GROUP: 6,
  TERMINAL: 7,
  ROWS_COLS: 8,
  DEBUG: 9,
  TOOL: 10,
  CONTAINER: 11,
  HOSTNAME: 12,
  MEMORY_MAX: 13,
  JOIN: 14,
  SHARE_PID: 15,
  PORT: 16,
  CPU_MAX: 17,
  CPU_WEIGHT: 18,
  UPDATE: 19,
  STATS: 20,
} as const;
/** Records of a STATS answer (wire.h enum stats_tag): each a u64 from the container's guest cgroup. */
export const StatsTag = {
  MEMORY_USAGE: 1,
  MEMORY_LIMIT: 2,
  ANON: 3,
  FILE: 4,
  KERNEL_STACK: 5,
  SLAB: 6,
  SOCK: 7,
  SHMEM: 8,
  FILE_MAPPED: 9,
  FILE_DIRTY: 10,
  INACTIVE_ANON: 11,
  ACTIVE_ANON: 12,
  INACTIVE_FILE: 13,
  ACTIVE_FILE: 14,
  UNEVICTABLE: 15,
  PGFAULT: 16,
  PGMAJFAULT: 17,
  CPU_USAGE_USEC: 18,
  CPU_USER_USEC: 19,
  CPU_SYSTEM_USEC: 20,
  CPU_NR_PERIODS: 21,
  CPU_NR_THROTTLED: 22,
  CPU_THROTTLED_USEC: 23,
  PIDS_CURRENT: 24,
  PIDS_LIMIT: 25,
  SWAP_USAGE: 26,
  SWAP_LIMIT: 27,
  OOM_KILL: 28,
} as const;

/** Largest program a START's TOOL may announce (guest/agent/config.h TOOL_MAX). */
export const TOOL_MAX = 16 * 1024 * 1024;

/**
 * Where a START runs in a pod VM (protocol 3): as a further container of the pod (its root is
 * /.runcvm-pod/<name> in the guest), or as an exec joining one.
 */
export type PodPlacement =
  | {
      kind: 'container';
      name: string;
      hostname?: string;
      memoryMaxBytes?: number;
      /** cpu.max of its guest cgroup: quota and period in microseconds (CRI cpu_quota, cpu_period). */
      cpuMax?: { quotaUs: number; periodUs: number };
      /** cpu.weight of its guest cgroup, 1 to 10000 (the CRI's cpu_shares as runc converts them). */
      cpuWeight?: number;
      sharePid?: boolean;
    }
  | { kind: 'join'; name: string };

/**
 * `runc update` of a running pod-VM container (START with UPDATE): only what is present changes.
 * `memoryMaxBytes` 0 and `cpuMax.quotaUs` 0 lift the limit ("max").
 */
export interface PodUpdate {
  name: string;
  memoryMaxBytes?: number;
  cpuMax?: { quotaUs: number; periodUs: number };
  cpuWeight?: number;
}

export interface VmConfig {
  hostname: string;
  rootTag: string;
  rootReadonly: boolean;
  mounts: GuestMount[];
  debug: boolean;
  /** RUNCVM_DISKS: virtio-blk disks the guest mounts, found by serial. */
  disks?: GuestDisk[];
  network: GuestNetwork;
  /** Image root: drive serials of the read-only layers (top first) and of the writable drive. */
  rootImage?: { lowers: string[]; upper: string; host9pOptions?: string };
  /** Drive serials in attach order, for VMMs whose drives have no serial (Firecracker). */
  driveOrder?: string[];
  /** RUNCVM_VOLUMES=9p: the guest's end of the link to the volume server. */
  volumeLink?: VolumeLink;
  /** No workload: write the image root's writable drive back into the container's layer (a killed container). */
  writebackOnly?: boolean;
  /** linux.sysctl: files under /proc/sys and their values, written before the workload starts. */
  sysctls?: { path: string; value: string }[];
}

function ipv4Bytes(addr: string | undefined): Buffer {
  const parts = (addr ?? '0.0.0.0').split('.').map((n) => Number.parseInt(n, 10));
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) throw new Error(`not an IPv4 address: ${addr}`);
  return Buffer.from(parts);
}

function macBytes(mac: string): Buffer {
  const b = Buffer.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
  if (b.length !== 6) throw new Error(`not a MAC address: ${mac}`);
  return b;
}

/** NIC: mac[6], u16 mtu, u8 prefix, u8 0, ipv4[4], name. */
export function encodeNic(i: NetIface): Buffer {
  const head = Buffer.alloc(10);
  macBytes(i.mac).copy(head, 0);
  head.writeUInt16LE(i.mtu, 6);
  head.writeUInt8(i.ipv4?.prefix ?? 0, 8);
  return Buffer.concat([head, ipv4Bytes(i.ipv4?.address), Buffer.from(i.name, 'utf8')]);
}

/** ROUTE: dst[4], u8 prefix, u8[3] 0, gateway[4] (0.0.0.0 = none), dev. */
export function encodeRoute(r: NetRoute): Buffer {
  const [dst, len] = r.dst === 'default' ? ['0.0.0.0', '0'] : r.dst.includes('/') ? r.dst.split('/') : [r.dst, '32'];
  const mid = Buffer.alloc(4);
  mid.writeUInt8(Number.parseInt(len as string, 10), 0);
  return Buffer.concat([ipv4Bytes(dst), mid, ipv4Bytes(r.gateway), Buffer.from(r.dev, 'utf8')]);
}

/** VOLUME_LINK: a NIC record (mtu 0: the default) for the guest's end, then the server's ipv4[4] before the name. */
export function encodeVolumeLink(l: VolumeLink): Buffer {
  const head = Buffer.alloc(10);
  macBytes(l.mac).copy(head, 0);
  head.writeUInt8(l.prefix, 8);
  return Buffer.concat([head, ipv4Bytes(l.guestIp), ipv4Bytes(l.serverIp), Buffer.from(l.guestName, 'utf8')]);
}

export interface GuestDisk {
  serial: string;
  destination: string;
  fs: string;
  flags: number;
}

function flagsThen(flags: number, text: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(flags >>> 0, 0);
  return Buffer.concat([b, Buffer.from(text, 'utf8')]);
}

export function encodeConfig(c: VmConfig): Buffer {
  const w = new TlvWriter().string(ConfigTag.HOSTNAME, c.hostname).string(ConfigTag.ROOT_TAG, c.rootTag);
  w.u8(ConfigTag.ROOT_READONLY, c.rootReadonly ? 1 : 0).u8(ConfigTag.DEBUG, c.debug ? 1 : 0);
  if (c.volumeLink) w.bytes(ConfigTag.VOLUME_LINK, encodeVolumeLink(c.volumeLink));
  for (const m of c.mounts) {
    if (m.kind === 'bind') w.bytes(ConfigTag.BIND, flagsThen(m.flags, m.destination));
    else if (m.kind === '9p')
      w.bytes(
        ConfigTag.VOLUME_9P,
        flagsThen(m.flags, `${m.destination}\0${m.options}\0${m.file ? FILE_IN_EXPORT : ''}`),
      );
    else w.bytes(ConfigTag.TMPFS, flagsThen(m.flags, `${m.destination}\0${m.data}`));
  }
  for (const l of c.rootImage?.lowers ?? []) w.string(ConfigTag.ROOT_LOWER, l);
  if (c.rootImage) w.string(ConfigTag.ROOT_UPPER, c.rootImage.upper);
  if (c.rootImage?.host9pOptions) w.string(ConfigTag.ROOT_HOST_9P, c.rootImage.host9pOptions);
  for (const s of c.driveOrder ?? []) w.string(ConfigTag.DRIVE_ORDER, s);
  if (c.writebackOnly) w.u8(ConfigTag.WRITEBACK_ONLY, 1);
  for (const d of c.disks ?? []) w.bytes(ConfigTag.DISK, flagsThen(d.flags, `${d.serial}\0${d.destination}\0${d.fs}`));
  for (const i of c.network.ifaces) w.bytes(ConfigTag.NIC, encodeNic(i));
  for (const r of c.network.routes) w.bytes(ConfigTag.ROUTE, encodeRoute(r));
  w.u8(ConfigTag.DNS_RELAY, c.network.dnsRelay ? 1 : 0);
  for (const s of c.sysctls ?? []) w.bytes(ConfigTag.SYSCTL, Buffer.from(`${s.path}\0${s.value}`, 'utf8'));
  for (const s of c.network.spares)
    w.bytes(ConfigTag.SPARE, Buffer.concat([macBytes(s.mac), Buffer.from(s.name, 'utf8')]));
  return w.finish();
}

/**
 * START of a `runcvm debug` process: run in the agent's own PID and mount namespaces (DEBUG), its
 * program the first toolSize bytes the client sends on STDIN (TOOL), ARG[0] naming the applet.
 */
export function encodeDebugStart(p: WorkloadProcess, toolSize: number): Buffer {
  if (!Number.isInteger(toolSize) || toolSize <= 0 || toolSize > TOOL_MAX)
    throw new Error(`debug program of ${toolSize} bytes: allowed 1 to ${TOOL_MAX}`);
  const head = encodeStart(p);
  const tail = new TlvWriter().u8(StartTag.DEBUG, 1).u32(StartTag.TOOL, toolSize).finish();
  return Buffer.concat([head, tail]);
}

export function encodeStart(p: WorkloadProcess, pod?: PodPlacement): Buffer {
  const w = new TlvWriter();
  for (const a of p.args) w.string(StartTag.ARG, a);
  for (const e of p.env) w.string(StartTag.ENV, e);
  w.string(StartTag.CWD, p.cwd).u32(StartTag.UID, p.uid).u32(StartTag.GID, p.gid);
  for (const g of p.groups) w.u32(StartTag.GROUP, g);
  w.u8(StartTag.TERMINAL, p.terminal ? 1 : 0);
  if (p.consoleSize) w.bytes(StartTag.ROWS_COLS, encodeWinsize(p.consoleSize.rows, p.consoleSize.cols));
  if (pod?.kind === 'join') w.string(StartTag.JOIN, pod.name);
  if (pod?.kind === 'container') {
    w.string(StartTag.CONTAINER, pod.name);
    if (pod.hostname) w.string(StartTag.HOSTNAME, pod.hostname);
    if (pod.sharePid) w.u8(StartTag.SHARE_PID, 1);
    writeLimits(w, pod);
  }
  return w.finish();
}

function writeLimits(w: TlvWriter, l: Omit<PodUpdate, 'name'>): void {
  if (l.memoryMaxBytes !== undefined) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(l.memoryMaxBytes), 0);
    w.bytes(StartTag.MEMORY_MAX, b);
  }
  if (l.cpuMax) {
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(BigInt(l.cpuMax.quotaUs), 0);
    b.writeBigUInt64LE(BigInt(l.cpuMax.periodUs), 8);
    w.bytes(StartTag.CPU_MAX, b);
  }
  if (l.cpuWeight !== undefined) w.u32(StartTag.CPU_WEIGHT, l.cpuWeight);
}

/** START with UPDATE: no process runs; the agent answers EXIT 0 or ERROR (ARG is still required). */
export function encodeUpdate(u: PodUpdate): Buffer {
  const w = new TlvWriter();
  w.string(StartTag.ARG, 'update').string(StartTag.UPDATE, u.name);
  writeLimits(w, u);
  return w.finish();
}

/**
 * START with STATS: no process runs; the agent answers STATS (the container's guest cgroup
 * figures) then EXIT 0, or ERROR. The host's reader is the shim (src/shim), this is for tests.
 */
export function encodeStatsRequest(name: string): Buffer {
  return new TlvWriter().string(StartTag.ARG, 'stats').string(StartTag.STATS, name).finish();
}

/** A STATS payload: tag → value; a record that is not a u64 is refused. */
export function decodeStats(p: Buffer): Map<number, bigint> {
  const out = new Map<number, bigint>();
  let off = 0;
  while (off < p.length) {
    if (p.length - off < 6) throw new Error(`STATS: truncated record header at ${off}`);
    const tag = p.readUInt16LE(off);
    const len = p.readUInt32LE(off + 2);
    if (len !== 8 || p.length - off - 6 < 8) throw new Error(`STATS: record ${tag} is not a u64`);
    out.set(tag, p.readBigUInt64LE(off + 6));
    off += 14;
  }
  return out;
}

export function encodeWinsize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(rows & 0xffff, 0);
  b.writeUInt16LE(cols & 0xffff, 2);
  return b;
}

export function encodeSignal(signo: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(signo, 0);
  return b;
}

export interface Hello {
  version: number;
  agent: string;
}

/** The host's HELLO (protocol 2): the same layout as the guest's, sent before CONFIG. */
export function encodeHello(version: number, software: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(version >>> 0, 0);
  return Buffer.concat([b, Buffer.from(software, 'utf8')]);
}

export function decodeHello(p: Buffer): Hello {
  if (p.length < 4) throw new Error('HELLO: payload shorter than 4 bytes');
  return { version: p.readUInt32LE(0), agent: p.subarray(4).toString('utf8') };
}

/** EXIT payload: u8 kind, u8 flags, u8[2] 0, i32 value (wire.h). */
export const EXIT_KIND_SIGNALED = 1;
export const ExitFlag = {
  /** Process 1's image-root write-back failed: the writable drive keeps the changes. */
  WRITEBACK_FAILED: 1,
  /** A pod-VM container's first process ended after its cgroup's OOM killer killed a process of it. */
  OOM_KILLED: 2,
} as const;

/** writebackFailed: process 1 of an image root whose changes did not all reach the layer. */
export type ExitStatus = ({ kind: 'exited'; code: number } | { kind: 'signaled'; signal: number }) & {
  writebackFailed?: boolean;
};

export function decodeExit(p: Buffer): ExitStatus {
  if (p.length < 8) throw new Error('EXIT: payload shorter than 8 bytes');
  const value = p.readInt32LE(4);
  const status: ExitStatus =
    p.readUInt8(0) === EXIT_KIND_SIGNALED ? { kind: 'signaled', signal: value } : { kind: 'exited', code: value };
  return p.readUInt8(1) & ExitFlag.WRITEBACK_FAILED ? { ...status, writebackFailed: true } : status;
}

/** Exit status the container reports, as runc does: 128+N for a signal death. */
export function exitCode(s: ExitStatus): number {
  return s.kind === 'exited' ? s.code & 0xff : 128 + s.signal;
}

export interface AgentError {
  errno: number;
  message: string;
}

export function decodeError(p: Buffer): AgentError {
  if (p.length < 4) throw new Error('ERROR: payload shorter than 4 bytes');
  return { errno: p.readUInt32LE(0), message: p.subarray(4).toString('utf8') };
}

export function decodeStarted(p: Buffer): number {
  if (p.length < 4) throw new Error('STARTED: payload shorter than 4 bytes');
  return p.readUInt32LE(0);
}

export interface AgentLog {
  level: number;
  line: string;
}

export function decodeLog(p: Buffer): AgentLog {
  return { level: p.length > 0 ? p.readUInt8(0) : 2, line: p.subarray(1).toString('utf8') };
}

/** DNS token bit: the query came over TCP in the guest, so the host asks over TCP too. */
export const DNS_TOKEN_TCP = 0x80000000;

/** DNS: u32 token chosen by the guest, then one DNS message (query from the guest, answer from the host). */
export function decodeDns(p: Buffer): { token: number; message: Buffer } {
  if (p.length < 4) throw new Error('DNS: payload shorter than 4 bytes');
  return { token: p.readUInt32LE(0), message: p.subarray(4) };
}

export function encodeDns(token: number, message: Buffer): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(token >>> 0, 0);
  return Buffer.concat([b, message]);
}

/** NET_ATTACH: the spare NIC's MAC, then a NIC record for the interface it becomes. */
export function encodeNetAttach(spareMac: string, iface: NetIface): Buffer {
  return Buffer.concat([macBytes(spareMac), encodeNic(iface)]);
}

/** NET_DETACH: the spare's MAC to restore (all zero: a boot NIC, only taken down), then the interface name. */
export function encodeNetDetach(spareMac: string | null, name: string): Buffer {
  return Buffer.concat([spareMac ? macBytes(spareMac) : Buffer.alloc(6), Buffer.from(name, 'utf8')]);
}
