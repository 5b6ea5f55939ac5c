/**
 * The per-container host log (docs/troubleshooting.md, "The container's host log"): what the
 * runtime, the launcher, the VMM, the file servers and the guest agent said about one container,
 * in /var/log/runcvm/<container id>/runcvm.log on the host (bound into the launcher's sandbox at
 * HOST_LOG_IN_CONTAINER). The format is plain text so any writer (this module, a C supervisor)
 * can produce it: one line per record, `<ISO 8601 UTC time> <source>: <text>`, text at most
 * LINE_MAX bytes with control characters replaced by spaces.
 *
 * Much of it comes from the guest or from processes the guest can drive (QEMU, virtiofsd), so it
 * is bounded here: lines cut, a token bucket (BURST lines, RATE lines/s) with dropped lines counted
 * in the next written one, and the file rotated at MAX_BYTES with KEEP old files
 * (runcvm.log.1, runcvm.log.2). A failing write never stops the writer: it is reported once.
 */
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/** Host directory holding one directory per container. */
export const HOST_LOG_ROOT = '/var/log/runcvm';
/** Where the container's own log directory is bound in the launcher's sandbox (on its /run tmpfs). */
export const HOST_LOG_IN_CONTAINER = '/run/runcvm-log';
export const LOG_FILE = 'runcvm.log';
export const MAX_BYTES = 1024 * 1024;
export const KEEP = 2;
export const LINE_MAX = 1024;
export const BURST = 200;
export const RATE = 50;

/** Who said it: the closed set of writers. */
export type LogSource = 'runtime' | 'launcher' | 'qemu' | 'firecracker' | 'virtiofsd' | 'diod' | 'agent';

const CONTAINER_ID = /^[0-9A-Za-z][0-9A-Za-z_.-]{0,127}$/;

/** A container id usable as a directory name (Docker's are 64 hex digits; others are checked). */
export function containerLogDir(containerId: string, root = HOST_LOG_ROOT): string {
  if (!CONTAINER_ID.test(containerId) || containerId.includes('..'))
    throw new Error(`host log: container id "${containerId.slice(0, 80)}" cannot name a log directory`);
  return join(root, containerId);
}

export function sanitizeLine(text: string): string {
  const b = Buffer.from(text, 'utf8');
  const cut = b.length > LINE_MAX ? `${b.subarray(0, LINE_MAX).toString('utf8')}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function formatRecord(time: number, source: LogSource, text: string): string {
  return `${new Date(time).toISOString()} ${source}: ${sanitizeLine(text)}\n`;
}

export class HostLog {
  private fd = -1;
  private size = 0;
  private tokens = BURST;
  private last: number;
  private dropped = 0;
  private failed = false;
  /** Output of a child cut mid-line, per source, until its newline arrives. */
  private partial = new Map<LogSource, string>();

  constructor(
    private readonly dir: string,
    private readonly now: () => number = Date.now,
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.last = now();
  }

  /** A complete message: one record per line of it. */
  line(source: LogSource, text: string): void {
    for (const l of text.split('\n')) this.record(source, l);
  }

  /** A child's output chunk, which may hold several lines, or half of one: one record per line. */
  output(source: LogSource, text: string): void {
    const lines = ((this.partial.get(source) ?? '') + text).split('\n');
    const rest = lines.pop() as string;
    // A line with no end is held at most LINE_MAX bytes, then written as it is.
    if (Buffer.byteLength(rest) > LINE_MAX) {
      lines.push(rest);
      this.partial.delete(source);
    } else if (rest === '') this.partial.delete(source);
    else this.partial.set(source, rest);
    for (const l of lines) this.record(source, l);
  }

  /** Writes what is held of unfinished lines (at exit). */
  flush(): void {
    for (const [source, rest] of this.partial) this.record(source, rest);
    this.partial.clear();
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private record(source: LogSource, text: string): void {
    if (!this.admit()) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      const n = this.dropped;
      this.dropped = 0;
      this.append(formatRecord(this.now(), 'launcher', `${n} log line(s) dropped (more than ${RATE}/s)`));
    }
    this.append(formatRecord(this.now(), source, text));
  }

  private admit(): boolean {
    const t = this.now();
    this.tokens = Math.min(BURST, this.tokens + ((t - this.last) * RATE) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private append(line: string): void {
    if (this.failed) return;
    try {
      const bytes = Buffer.from(line, 'utf8');
      if (this.fd < 0) this.open();
      if (this.size > 0 && this.size + bytes.length > MAX_BYTES) this.rotate();
      writeSync(this.fd, bytes);
      this.size += bytes.length;
    } catch (e) {
      this.failed = true;
      this.onError(`host log ${join(this.dir, LOG_FILE)}: ${(e as Error).message} (no more lines written)`);
    }
  }

  /** O_NOFOLLOW: the launcher's sandbox can write this directory, so a link there is hostile. */
  private open(): void {
    this.fd = openSync(
      join(this.dir, LOG_FILE),
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o640,
    );
    const st = fstatSync(this.fd);
    if (!st.isFile()) throw new Error('not a regular file');
    this.size = st.size;
  }

  /** runcvm.log -> .1 -> .2 (renames move links, never follow them); the oldest goes. */
  private rotate(): void {
    closeSync(this.fd);
    this.fd = -1;
    const name = (i: number) => join(this.dir, i === 0 ? LOG_FILE : `${LOG_FILE}.${i}`);
    rmSync(name(KEEP), { force: true });
    for (let i = KEEP - 1; i >= 0; i--) {
      try {
        renameSync(name(i), name(i + 1));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    this.open();
  }
}

/** Creates the container's log directory on the host (create); refuses one that is not a plain directory. */
export function makeContainerLogDir(containerId: string, root = HOST_LOG_ROOT): string {
  mkdirSync(root, { recursive: true, mode: 0o750 });
  const dir = containerLogDir(containerId, root);
  try {
    mkdirSync(dir, { mode: 0o750 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (!lstatSync(dir).isDirectory()) throw new Error(`host log: ${dir} is not a directory`);
  return dir;
}
