/**
 * Typed payloads of the agent protocol messages (docs/agent-protocol.md), encoded and decoded
 * in one place so the host never builds bytes by hand elsewhere.
 */
import type { GuestMount, WorkloadProcess } from '../launcher/launch-spec.ts';
import { TlvWriter } from './tlv.ts';

export const ConfigTag = { HOSTNAME: 1, ROOT_TAG: 2, ROOT_READONLY: 3, BIND: 4, TMPFS: 5, DEBUG: 6 } as const;
export const StartTag = { ARG: 1, ENV: 2, CWD: 3, UID: 4, GID: 5, GROUP: 6, TERMINAL: 7, ROWS_COLS: 8 } as const;

export interface VmConfig {
  hostname: string;
  rootTag: string;
  rootReadonly: boolean;
  mounts: GuestMount[];
  debug: boolean;
}

function flagsThen(flags: number, text: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(flags >>> 0, 0);
  return Buffer.concat([b, Buffer.from(text, 'utf8')]);
}

export function encodeConfig(c: VmConfig): Buffer {
  const w = new TlvWriter().string(ConfigTag.HOSTNAME, c.hostname).string(ConfigTag.ROOT_TAG, c.rootTag);
  w.u8(ConfigTag.ROOT_READONLY, c.rootReadonly ? 1 : 0).u8(ConfigTag.DEBUG, c.debug ? 1 : 0);
  for (const m of c.mounts) {
    if (m.kind === 'bind') w.bytes(ConfigTag.BIND, flagsThen(m.flags, m.destination));
    else w.bytes(ConfigTag.TMPFS, flagsThen(m.flags, `${m.destination}\0${m.data}`));
  }
  return w.finish();
}

export function encodeStart(p: WorkloadProcess): Buffer {
  const w = new TlvWriter();
  for (const a of p.args) w.string(StartTag.ARG, a);
  for (const e of p.env) w.string(StartTag.ENV, e);
  w.string(StartTag.CWD, p.cwd).u32(StartTag.UID, p.uid).u32(StartTag.GID, p.gid);
  for (const g of p.groups) w.u32(StartTag.GROUP, g);
  w.u8(StartTag.TERMINAL, p.terminal ? 1 : 0);
  if (p.consoleSize) w.bytes(StartTag.ROWS_COLS, encodeWinsize(p.consoleSize.rows, p.consoleSize.cols));
  return w.finish();
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

export function decodeHello(p: Buffer): Hello {
  if (p.length < 4) throw new Error('HELLO: payload shorter than 4 bytes');
  return { version: p.readUInt32LE(0), agent: p.subarray(4).toString('utf8') };
}

export type ExitStatus = { kind: 'exited'; code: number } | { kind: 'signaled'; signal: number };

export function decodeExit(p: Buffer): ExitStatus {
  if (p.length < 8) throw new Error('EXIT: payload shorter than 8 bytes');
  const value = p.readInt32LE(4);
  return p.readUInt8(0) === 1 ? { kind: 'signaled', signal: value } : { kind: 'exited', code: value };
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
