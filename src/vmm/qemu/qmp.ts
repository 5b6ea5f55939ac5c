/**
 * A minimal QMP client (QEMU's JSON monitor protocol) over a Unix socket. A leaf module: it
 * knows QMP's greeting, capabilities handshake and {return}/{error} replies, nothing of runcvm.
 * QEMU's QMP server takes one client at a time (a second one waits in the backlog until the
 * first disconnects), so callers keep a connection only for as long as they need it.
 */
import { connect, type Socket } from 'node:net';

export class QmpError extends Error {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`qmp ${command}: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class Qmp {
  private buf = '';
  private readonly queue: Pending[] = [];
  private greeted?: (e?: Error) => void;
  private closedError?: Error;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('qmp connection closed')));
  }

  /** Connects, waits for the greeting and leaves capabilities negotiation mode. */
  static async open(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const sock = connect(path);
    const qmp = new Qmp(sock);
    const timer = setTimeout(() => sock.destroy(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        qmp.greeted = (e) => (e ? reject(e) : resolve());
      });
      await qmp.execute('qmp_capabilities');
      return qmp;
    } catch (e) {
      sock.destroy();
      throw new Error(`qmp ${path}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.queue.push({ command, resolve, reject });
      this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: { QMP?: unknown; event?: string; return?: unknown; error?: { class?: string; desc?: string } };
    try {
      msg = JSON.parse(line);
    } catch {
      this.fail(new Error(`qmp: not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if (msg.QMP !== undefined) {
      this.greeted?.();
      this.greeted = undefined;
      return;
    }
    if (msg.event !== undefined) return; // asynchronous events are not used
    // QMP answers commands in order.
    const p = this.queue.shift();
    if (!p) return;
    if (msg.error) p.reject(new QmpError(p.command, msg.error.class ?? 'Error', msg.error.desc ?? ''));
    else p.resolve(msg.return);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    this.greeted?.(e);
    this.greeted = undefined;
    for (const p of this.queue.splice(0)) p.reject(e);
  }
}
