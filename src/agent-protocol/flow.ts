/**
 * Credit-based flow control of a guest process's output (docs/agent-protocol.md, Flow control).
 * The guest may have at most STREAM_WINDOW bytes of a stream's output that the host has not
 * granted back yet; the host grants bytes back (WINDOW) once its consumer (Docker's pipe, an exec
 * client's socket) has taken them. A stopped reader therefore stops the guest process on its
 * pipe, and the host never holds more than one window per stream. Pure: no I/O here.
 */

/** Initial credit per stream at START, and the most the host ever holds unconsumed per stream. */
export const STREAM_WINDOW = 1024 * 1024;
/** Grants are batched: one WINDOW frame per this many consumed bytes (≤ the window, so no stall). */
export const GRANT_BATCH = STREAM_WINDOW / 4;

export type OutputStream = 'stdout' | 'stderr';

export class OutputWindow {
  /** Received from the guest, not yet taken by the consumer. */
  private unconsumed = 0;
  /** Taken by the consumer, not yet granted back to the guest. */
  private ungranted = 0;

  constructor(
    private readonly window = STREAM_WINDOW,
    private readonly batch = GRANT_BATCH,
  ) {}

  /** Bytes that arrived from the guest; false when it sent more than its credit (a protocol error). */
  receive(n: number): boolean {
    this.unconsumed += n;
    return this.unconsumed + this.ungranted <= this.window;
  }

  /** Bytes the consumer has taken; returns the credit to grant now (0: wait for a fuller batch). */
  consume(n: number): number {
    this.unconsumed -= Math.min(n, this.unconsumed);
    this.ungranted += n;
    if (this.ungranted < this.batch) return 0;
    const grant = this.ungranted;
    this.ungranted = 0;
    return grant;
  }

  /** Bytes the host holds for this stream (what its memory bound counts). */
  held(): number {
    return this.unconsumed;
  }
}

/** WINDOW payload: u32 stdout credit, u32 stderr credit (increments). */
export function encodeWindow(stdout: number, stderr: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(stdout >>> 0, 0);
  b.writeUInt32LE(stderr >>> 0, 4);
  return b;
}

export function decodeWindow(p: Buffer): { stdout: number; stderr: number } {
  if (p.length < 8) throw new Error('WINDOW: payload shorter than 8 bytes');
  return { stdout: p.readUInt32LE(0), stderr: p.readUInt32LE(4) };
}
