/** Test support: splits a CONFIG or START payload back into its TLV records (../tlv.ts writes them). */

export interface TlvRecord {
  tag: number;
  value: Buffer;
}

export function readTlv(payload: Buffer): TlvRecord[] {
  const out: TlvRecord[] = [];
  let off = 0;
  while (off < payload.length) {
    if (payload.length - off < 6) throw new Error('TLV: truncated record header');
    const tag = payload.readUInt16LE(off);
    const len = payload.readUInt32LE(off + 2);
    if (payload.length - off - 6 < len) throw new Error(`TLV: record ${tag} truncated`);
    out.push({ tag, value: payload.subarray(off + 6, off + 6 + len) });
    off += 6 + len;
  }
  return out;
}
