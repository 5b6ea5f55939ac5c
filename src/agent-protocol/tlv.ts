/** TLV records (u16 tag, u32 length, bytes) that CONFIG and START payloads are made of. */

export class TlvWriter {
  private parts: Buffer[] = [];

  bytes(tag: number, value: Buffer): this {
    const h = Buffer.alloc(6);
    h.writeUInt16LE(tag, 0);
    h.writeUInt32LE(value.length, 2);
    this.parts.push(h, value);
    return this;
  }

  string(tag: number, value: string): this {
    if (value.includes('\0')) throw new Error(`TLV tag ${tag}: string contains NUL`);
    return this.bytes(tag, Buffer.from(value, 'utf8'));
  }

  u8(tag: number, value: number): this {
    return this.bytes(tag, Buffer.from([value & 0xff]));
  }

  u32(tag: number, value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0, 0);
    return this.bytes(tag, b);
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
