/**
 * Frame layer of the agent protocol (docs/agent-protocol.md): 12-byte header
 * (u32 len, u8 type, u8[3] reserved, u32 id, little-endian) then the payload.
 */

/** 2: host HELLO and WINDOW flow control (docs/agent-protocol.md, Versioning). */
export const PROTOCOL_VERSION = 3;
export const HEADER_SIZE = 12;
export const MAX_PAYLOAD = 1024 * 1024;
export const MAX_DATA_CHUNK = 64 * 1024;

export const MsgType = {
  HELLO: 0x01,
  CONFIG: 0x02,
  START: 0x03,
  STDIN: 0x04,
  STDOUT: 0x05,
  STDERR: 0x06,
  SIGNAL: 0x07,
  RESIZE: 0x08,
  STARTED: 0x09,
  EXIT: 0x0a,
  ERROR: 0x0b,
  SHUTDOWN: 0x0c,
  LOG: 0x0d,
  DNS: 0x0e,
  NET_ATTACH: 0x0f,
  NET_DETACH: 0x10,
  WINDOW: 0x11,
  /** The answer to a START with STATS: a pod-VM container's guest cgroup figures (StatsTag). */
  STATS: 0x12,
} as const;
export type MsgTypeValue = (typeof MsgType)[keyof typeof MsgType];

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

export function encodeFrame(type: MsgTypeValue, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_PAYLOAD)
    throw new Error(`agent frame type ${type}: payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const header = Buffer.alloc(HEADER_SIZE);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32LE(id, 8);
  return Buffer.concat([header, payload]);
}

/** Incremental decoder: feed it whatever the stream delivers, get whole frames back. */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): Frame[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const frames: Frame[] = [];
    let buf = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let off = 0;
    while (buf.length - off >= HEADER_SIZE) {
      const len = buf.readUInt32LE(off);
      if (len > MAX_PAYLOAD) throw new Error(`agent protocol error: frame of ${len} bytes exceeds ${MAX_PAYLOAD}`);
      if (buf.length - off < HEADER_SIZE + len) break;
      frames.push({
        type: buf.readUInt8(off + 4),
        id: buf.readUInt32LE(off + 8),
        payload: Buffer.from(buf.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len)),
      });
      off += HEADER_SIZE + len;
    }
    buf = buf.subarray(off);
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingBytes = buf.length;
    return frames;
  }
}
