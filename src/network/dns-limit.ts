/**
 * Bounds the DNS relay against a guest that floods queries: at most MAX_DNS_IN_FLIGHT queries
 * wait for Docker's DNS at once (each holds one host UDP socket), and a query over the cap is
 * answered SERVFAIL at once, so a resolver in the guest fails fast instead of timing out.
 */

export const MAX_DNS_IN_FLIGHT = 64;
const HEADER = 12;

/** Offset just past the first question (name, type, class), or undefined if it is malformed. */
function questionEnd(q: Buffer): number | undefined {
  let off = HEADER;
  // Labels until the root label; a query's question has no compression pointers.
  while (off < q.length) {
    const len = q[off] as number;
    if (len === 0) return off + 1 + 4 <= q.length ? off + 1 + 4 : undefined;
    if (len & 0xc0) return undefined;
    off += 1 + len;
  }
  return undefined;
}

/**
 * SERVFAIL for a query: its id, opcode and RD kept, QR and RA set, RCODE 2, and its question
 * echoed when there is exactly one (resolvers such as glibc's match answers by question).
 * Undefined for anything shorter than a DNS header.
 */
export function servfail(query: Buffer): Buffer | undefined {
  if (query.length < HEADER) return undefined;
  const end = query.readUInt16BE(4) === 1 ? questionEnd(query) : undefined;
  const out = Buffer.from(query.subarray(0, end ?? HEADER));
  out[2] = ((query[2] as number) & 0x79) | 0x80;
  out[3] = 0x80 | 2;
  out.writeUInt16BE(end === undefined ? 0 : 1, 4);
  out.fill(0, 6, HEADER);
  return out;
}

export type DnsAsk = (query: Buffer) => Promise<Buffer | undefined>;

export class DnsLimiter {
  private inFlight = 0;
  /** Queries answered SERVFAIL because the cap was reached. */
  refused = 0;

  constructor(
    private readonly ask: DnsAsk,
    readonly max = MAX_DNS_IN_FLIGHT,
  ) {}

  /** The answer to relay to the guest, SERVFAIL when over the cap, undefined for none. */
  async relay(query: Buffer, ask: DnsAsk = this.ask): Promise<Buffer | undefined> {
    if (this.inFlight >= this.max) {
      this.refused++;
      return servfail(query);
    }
    this.inFlight++;
    try {
      return await ask(query);
    } finally {
      this.inFlight--;
    }
  }

  pending(): number {
    return this.inFlight;
  }
}
