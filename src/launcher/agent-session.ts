/**
 * Host end of the agent protocol over one byte stream: the HELLO handshake, CONFIG, and the
 * processes running in the guest with their stdio, signals and exit status. Guest output is
 * flow-controlled (flow.ts): the host holds at most one window per stream, and grants credit
 * back only once the consumer has taken the bytes, so the channel itself is never paused.
 */
import type { Duplex } from 'node:stream';
import { encodeWindow, type OutputStream, OutputWindow } from '../agent-protocol/flow.ts';
import {
  encodeFrame,
  type Frame,
  FrameDecoder,
  MAX_DATA_CHUNK,
  MsgType,
  type MsgTypeValue,
  PROTOCOL_VERSION,
} from '../agent-protocol/frame.ts';
import {
  type AgentError,
  type AgentLog,
  decodeDns,
  decodeError,
  decodeExit,
  decodeHello,
  decodeLog,
  decodeStarted,
  type ExitStatus,
  encodeConfig,
  encodeDns,
  encodeHello,
  encodeNetAttach,
  encodeNetDetach,
  encodeSignal,
  encodeStart,
  encodeWinsize,
  type Hello,
  type VmConfig,
} from '../agent-protocol/messages.ts';
import type { NetIface } from '../contracts/guest-network.ts';
import type { WorkloadProcess } from '../contracts/workload-process.ts';

/** Output handlers call `done` once their consumer has taken the bytes: that grants the guest more credit. */
export interface ProcessHandlers {
  stdout(data: Buffer, done: () => void): void;
  stderr(data: Buffer, done: () => void): void;
  started(pid: number): void;
}

export type ProcessOutcome = { kind: 'exit'; status: ExitStatus } | { kind: 'error'; error: AgentError };

interface Tracked {
  handlers: ProcessHandlers;
  settle(o: ProcessOutcome): void;
}

/**
 * Receives every frame of one guest process unchanged (the exec server relays them); `done` as
 * for ProcessHandlers (a no-op for frames other than STDOUT/STDERR data).
 */
export type RawSink = (frame: Frame, done: () => void) => void;

type Flow = Record<OutputStream, OutputWindow>;

/**
 * Above this many bytes queued towards the guest, replies the host may drop (DNS answers) are
 * dropped: a guest that floods queries but does not read its channel cannot grow host memory.
 */
export const OUTBOUND_SOFT_LIMIT = 1024 * 1024;

const HOST_SOFTWARE = 'runcvm-launcher';

function once(f: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}

/** Message types that end a process's life on the channel. */
const FINAL = new Set<number>([MsgType.EXIT, MsgType.ERROR]);

export class AgentSession {
  private readonly decoder = new FrameDecoder();
  private readonly procs = new Map<number, Tracked>();
  private readonly raw = new Map<number, RawSink>();
  private readonly flows = new Map<number, Flow>();
  private hello?: (h: Hello) => void;
  /** Called for each DNS query the guest relays (docs/agent-protocol.md, DNS). */
  onDns?: (token: number, query: Buffer) => void;
  private failure?: (e: Error) => void;
  /** Fatal guest-side setup error (ERROR on id 0) or a closed channel. */
  readonly failed: Promise<Error>;

  constructor(
    private readonly stream: Duplex,
    private readonly onLog: (l: AgentLog) => void,
  ) {
    this.failed = new Promise((resolve) => {
      this.failure = resolve;
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const f of this.decoder.push(chunk)) this.dispatch(f);
      } catch (e) {
        this.failure?.(e as Error);
      }
    });
    stream.on('close', () => this.failure?.(new Error('the agent channel closed')));
    // A transport may hand the stream over paused (vsock.ts) so that no byte is emitted unheard.
    stream.resume();
    stream.on('error', (e) => this.failure?.(new Error(`agent channel: ${e.message}`)));
  }

  /** Resolves with the guest's HELLO; refuses another protocol version. */
  waitHello(): Promise<Hello> {
    return new Promise((resolve, reject) => {
      this.hello = (h) => {
        if (h.version !== PROTOCOL_VERSION) {
          reject(
            new Error(
              `guest agent speaks protocol ${h.version} (${h.agent}), this runtime speaks ${PROTOCOL_VERSION}: reinstall runcvm`,
            ),
          );
        } else resolve(h);
      };
    });
  }

  /** The host's HELLO (so the agent can refuse a host of another protocol version), then CONFIG. */
  configure(config: VmConfig): void {
    this.send(MsgType.HELLO, 0, encodeHello(PROTOCOL_VERSION, HOST_SOFTWARE));
    this.send(MsgType.CONFIG, 0, encodeConfig(config));
  }

  start(id: number, proc: WorkloadProcess, handlers: ProcessHandlers): Promise<ProcessOutcome> {
    return new Promise((resolve) => {
      this.procs.set(id, { handlers, settle: resolve });
      this.openFlow(id);
      this.send(MsgType.START, id, encodeStart(proc));
    });
  }

  /** The outcome of process `id` without starting it (the guest reports a write-back as process 1). */
  awaitExit(id: number): Promise<ProcessOutcome> {
    const ignore = () => {};
    return new Promise((resolve) => {
      this.procs.set(id, { handlers: { stdout: ignore, stderr: ignore, started: ignore }, settle: resolve });
    });
  }

  /** Starts a process whose frames go, unparsed, to `sink` (until its EXIT or ERROR). */
  startRaw(id: number, startPayload: Buffer, sink: RawSink): void {
    this.raw.set(id, sink);
    this.openFlow(id);
    this.send(MsgType.START, id, startPayload);
  }

  /** Forwards a client's STDIN/SIGNAL/RESIZE frame to process `id`. */
  forward(type: MsgTypeValue, id: number, payload: Buffer): boolean {
    return this.send(type, id, payload);
  }

  /** Writes stdin in protocol-sized chunks; false when the stream wants the writer to wait. */
  stdin(id: number, data: Buffer): boolean {
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA_CHUNK) {
      ok = this.send(MsgType.STDIN, id, data.subarray(off, off + MAX_DATA_CHUNK));
    }
    return ok;
  }

  closeStdin(id: number): void {
    this.send(MsgType.STDIN, id, Buffer.alloc(0));
  }

  signal(id: number, signo: number): void {
    this.send(MsgType.SIGNAL, id, encodeSignal(signo));
  }

  resize(id: number, rows: number, cols: number): void {
    this.send(MsgType.RESIZE, id, encodeWinsize(rows, cols));
  }

  netAttach(spareMac: string, iface: NetIface): void {
    this.send(MsgType.NET_ATTACH, 0, encodeNetAttach(spareMac, iface));
  }

  netDetach(spareMac: string | null, name: string): void {
    this.send(MsgType.NET_DETACH, 0, encodeNetDetach(spareMac, name));
  }

  /** False when the answer was dropped because the guest is not reading its channel. */
  dnsAnswer(token: number, answer: Buffer): boolean {
    if (this.stream.writableLength > OUTBOUND_SOFT_LIMIT) return false;
    this.send(MsgType.DNS, 0, encodeDns(token, answer));
    return true;
  }

  /** Bytes of guest output the host holds (received, not yet consumed), for tests and diagnostics. */
  heldOutput(): number {
    let n = 0;
    for (const f of this.flows.values()) n += f.stdout.held() + f.stderr.held();
    return n;
  }

  shutdown(): void {
    this.send(MsgType.SHUTDOWN, 0);
  }

  onDrain(cb: () => void): void {
    this.stream.once('drain', cb);
  }

  private send(type: MsgTypeValue, id: number, payload?: Buffer): boolean {
    if (this.stream.destroyed) return false;
    return this.stream.write(encodeFrame(type, id, payload));
  }

  private openFlow(id: number): void {
    this.flows.set(id, { stdout: new OutputWindow(), stderr: new OutputWindow() });
  }

  /** The consumer took n bytes of a stream: grant them back to the guest in batches. */
  private consumed(id: number, stream: OutputStream, n: number): void {
    const grant = this.flows.get(id)?.[stream].consume(n) ?? 0;
    if (grant > 0) this.send(MsgType.WINDOW, id, stream === 'stdout' ? encodeWindow(grant, 0) : encodeWindow(0, grant));
  }

  /**
   * Accounts a data frame against its stream's window. Returns its `done`, or undefined when the
   * frame must be dropped: no such process, or a guest that overran its credit (that ends the session).
   */
  private admit(f: Frame): (() => void) | undefined {
    const stream: OutputStream = f.type === MsgType.STDOUT ? 'stdout' : 'stderr';
    const flow = this.flows.get(f.id);
    if (!flow) return undefined;
    if (!flow[stream].receive(f.payload.length)) {
      this.failure?.(
        new Error(`agent protocol error: process ${f.id} sent more ${stream} than its flow-control window allows`),
      );
      return undefined;
    }
    return once(() => this.consumed(f.id, stream, f.payload.length));
  }

  private dispatch(f: Frame): void {
    const data = (f.type === MsgType.STDOUT || f.type === MsgType.STDERR) && f.payload.length > 0;
    const done = data ? this.admit(f) : () => {};
    if (!done) return;
    if (FINAL.has(f.type)) this.flows.delete(f.id);
    const sink = f.id === 0 ? undefined : this.raw.get(f.id);
    if (sink) {
      if (FINAL.has(f.type)) this.raw.delete(f.id);
      sink(f, done);
      return;
    }
    const proc = this.procs.get(f.id);
    switch (f.type) {
      case MsgType.HELLO:
        this.hello?.(decodeHello(f.payload));
        return;
      case MsgType.LOG:
        this.onLog(decodeLog(f.payload));
        return;
      case MsgType.DNS: {
        const { token, message } = decodeDns(f.payload);
        this.onDns?.(token, message);
        return;
      }
      case MsgType.STDOUT:
        if (data) proc ? proc.handlers.stdout(f.payload, done) : done();
        return;
      case MsgType.STDERR:
        if (data) proc ? proc.handlers.stderr(f.payload, done) : done();
        return;
      case MsgType.STARTED:
        proc?.handlers.started(decodeStarted(f.payload));
        return;
      case MsgType.EXIT:
        this.procs.delete(f.id);
        proc?.settle({ kind: 'exit', status: decodeExit(f.payload) });
        return;
      case MsgType.ERROR: {
        const error = decodeError(f.payload);
        if (f.id === 0) this.failure?.(new Error(`guest setup failed: ${error.message}`));
        this.procs.delete(f.id);
        proc?.settle({ kind: 'error', error });
        return;
      }
      default:
        this.onLog({ level: 1, line: `ignoring agent message of unknown type ${f.type}` });
    }
  }
}
