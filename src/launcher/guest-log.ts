/**
 * The guest's LOG lines and the launcher's counted drops, written to the container's stderr
 * without unbounded buffering: a token bucket (LOG_BURST lines, LOG_RATE lines/s), lines cut to
 * LOG_LINE_MAX bytes with control characters replaced (one frame is one line: the guest cannot
 * forge host lines), nothing written while more than LOG_QUEUE_MAX bytes wait in the stream.
 * Dropped lines are counted and reported in one summary line once writing is allowed again.
 */

export const LOG_LINE_MAX = 1024;
export const LOG_BURST = 50;
export const LOG_RATE = 20;
export const LOG_QUEUE_MAX = 64 * 1024;
const SUMMARY_DELAY_MS = 1000;

export interface LogSink {
  write(line: string): void;
  /** Bytes written but not yet taken by the reader (Node's writableLength). */
  queued(): number;
}

export class GuestLog {
  private tokens = LOG_BURST;
  private last: number;
  private dropped = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sink: LogSink,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
  }

  /** Writes `prefix: line` if the bounds allow, else counts it. Returns whether it was written. */
  line(prefix: string, text: string): boolean {
    if (!this.admit()) {
      this.dropped++;
      this.scheduleSummary();
      return false;
    }
    this.flushSummary();
    this.sink.write(`${prefix}: ${sanitize(text)}\n`);
    return true;
  }

  /** Lines dropped and not yet reported. */
  pendingDrops(): number {
    return this.dropped;
  }

  /** Reports the dropped count now if the bounds allow (tests; the timer does it otherwise). */
  flushSummary(): void {
    if (this.dropped === 0 || this.sink.queued() > LOG_QUEUE_MAX) return;
    this.sink.write(
      `runcvm: ${this.dropped} guest log line(s) dropped (more than ${LOG_RATE}/s or stderr not drained)\n`,
    );
    this.dropped = 0;
  }

  private admit(): boolean {
    const t = this.now();
    this.tokens = Math.min(LOG_BURST, this.tokens + ((t - this.last) * LOG_RATE) / 1000);
    this.last = t;
    if (this.tokens < 1 || this.sink.queued() > LOG_QUEUE_MAX) return false;
    this.tokens -= 1;
    return true;
  }

  private scheduleSummary(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushSummary();
      if (this.dropped > 0) this.scheduleSummary();
    }, SUMMARY_DELAY_MS);
    this.timer.unref();
  }
}

function sanitize(text: string): string {
  const cut =
    Buffer.byteLength(text) > LOG_LINE_MAX ? `${Buffer.from(text).subarray(0, LOG_LINE_MAX).toString('utf8')}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** A sink on a Node stream (the launcher's stderr). */
export function streamSink(out: NodeJS.WritableStream & { writableLength: number }): LogSink {
  return { write: (line) => void out.write(line), queued: () => out.writableLength };
}
