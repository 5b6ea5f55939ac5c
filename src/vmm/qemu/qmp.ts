/**
 * A minimal QMP client (QEMU's JSON monitor protocol) over any byte stream: a Unix socket in
 * the launcher, a relay's stdio for docker update (runtime/sandbox-relay.ts). A leaf module: it
 * knows QMP's greeting, capabilities handshake and {return}/{error} replies, nothing of runcvm.
 * The peer is not trusted (a compromised VMM may sit behind it): lines are capped, and the
 * greeting and every reply have a deadline. QEMU's QMP server takes one client at a time (a
 * second one waits in the backlog until the first disconnects), so callers keep a connection
 * only for as long as they need it.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { LineReader, LineTooLongError } from '../../common/line-reader.ts';

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`qmp ${command}: ${errorClass}: ${desc}`);
  }
}

export interface QmpOptions {
  /** Names the peer in errors: a socket path, or how the stream reaches QEMU. */
  label: string;
  /** Deadline for the greeting, and for each reply (qmp_capabilities included). */
  timeoutMs?: number;
  /** Longest line accepted; QEMU's replies to the commands we send are a few hundred bytes. */
  maxLineBytes?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type Message = { QMP?: unknown; event?: string; return?: unknown; error?: { class?: string; desc?: string } };

export class Qmp {
  private readonly lines: LineReader;
  private readonly queue: Pending[] = [];
  private readonly label: string;
  private readonly timeoutMs: number;
  private greeted?: (e?: Error) => void;
  private closedError?: Error;

  private constructor(
    private readonly stream: Duplex,
    opts: QmpOptions,
  ) {
    this.label = opts.label;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.lines = new LineReader(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    stream.on('data', (d: Buffer | string) => this.onData(typeof d === 'string' ? Buffer.from(d) : d));
    stream.on('error', (e) => this.fail(e));
    // Not 'end': a relay reports why it stopped (its stderr) by destroying the stream with an error.
    stream.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects to a Unix socket (inside the launcher, where the path is its own). */
  static connect(path: string, timeoutMs?: number): Promise<Qmp> {
    return Qmp.open(connect(path), { label: path, timeoutMs });
  }

  /** Waits for the greeting and leaves capabilities negotiation mode; destroys the stream on failure. */
  static async open(stream: Duplex, opts: QmpOptions): Promise<Qmp> {
    const qmp = new Qmp(stream, opts);
    const timeoutMs = qmp.timeoutMs;
    const timer = setTimeout(() => qmp.fail(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        if (qmp.closedError) reject(qmp.closedError);
        qmp.greeted = (e) => (e ? reject(e) : resolve());
      });
    } finally {
      clearTimeout(timer);
    }
    try {
      await qmp.execute('qmp_capabilities'); // with its own deadline, like every command
    } catch (e) {
      qmp.close();
      throw e;
    }
    return qmp;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      // A late reply would be matched to the next command: a timeout ends the connection.
      const timer = setTimeout(
        () => this.fail(new Error(`${command}: no reply within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.queue.push({ command, resolve, reject, timer });
      this.stream.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.fail(new Error('closed'));
  }

  private onData(d: Buffer): void {
    let lines: string[];
    try {
      lines = this.lines.push(d);
    } catch (e) {
      this.fail(
        e instanceof LineTooLongError ? new Error(`the peer sent ${e.message} (QMP replies are short)`) : (e as Error),
      );
      return;
    }
    for (const line of lines) {
      if (this.closedError) return;
      if (line.trim()) this.onMessage(line.trim());
    }
  }

  private onMessage(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = undefined;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.fail(new Error(`not a QMP message: ${JSON.stringify(line.slice(0, 200))}`));
      return;
    }
    const m = msg as Message;
    if (m.QMP !== undefined) {
      this.greeted?.();
      this.greeted = undefined;
      return;
    }
    if (m.event !== undefined) return; // asynchronous events are not used
    // QMP answers commands in order.
    const p = this.queue.shift();
    if (!p) return;
    clearTimeout(p.timer);
    if (m.error) p.reject(new QmpError(p.command, String(m.error.class ?? 'Error'), String(m.error.desc ?? '')));
    else p.resolve(m.return);
  }

  /** Ends the connection for good: every waiter gets `e` with the peer named, the stream is destroyed. */
  private fail(e: Error): void {
    if (this.closedError) return;
    const err = new Error(`qmp ${this.label}`, { cause: e });
    this.closedError = err;
    this.greeted?.(err);
    this.greeted = undefined;
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.stream.destroy();
  }
}
