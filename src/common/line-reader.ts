/**
 * Splits a byte stream from a peer we do not trust into lines, with a ceiling on what it holds:
 * a peer that never sends a newline gets an error, not our memory. Lines are decoded only once
 * complete, so a UTF-8 character split across chunks survives.
 */
export class LineTooLongError extends Error {
  constructor(readonly maxBytes: number) {
    super(`a line longer than ${maxBytes} bytes`);
  }
}

export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The lines `chunk` completes (without their newline). Throws LineTooLongError past the ceiling. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      this.hold(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    this.hold(chunk.subarray(start));
    return lines;
  }

  private hold(part: Buffer): void {
    this.size += part.length;
    if (this.size > this.maxBytes) throw new LineTooLongError(this.maxBytes);
    if (part.length) this.parts.push(part);
  }
}
