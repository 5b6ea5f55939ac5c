/**
 * The client half of `runcvm debug`: one process in the guest through the launcher's exec socket
 * (the same frames as runcvm-exec, docs/agent-protocol.md "docker exec"), whose program is sent
 * first as its STDIN (START's TOOL). It relays stdio, the terminal's size and signals, and
 * resolves with the guest process's exit status, as `docker exec` would.
 */
import type { Socket } from 'node:net';
import { encodeFrame, type Frame, FrameDecoder, MAX_DATA_CHUNK, MsgType } from '../agent-protocol/frame.ts';
import { encodeSignal, encodeWinsize } from '../agent-protocol/messages.ts';
import { GuestFailure } from '../contracts/errors.ts';

/** The only process of the connection: the launcher maps it to a fresh guest id. */
const CLIENT_ID = 1;
const ENOENT = 2;
const EACCES = 13;
const FORWARDED = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
const SIGNUM: Record<(typeof FORWARDED)[number], number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

export interface DebugIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (on: boolean) => unknown };
  stdout: NodeJS.WritableStream & { rows?: number; columns?: number; on(e: 'resize', l: () => void): unknown };
  stderr: NodeJS.WritableStream;
}

/** The status of an EXIT payload: the code, or 128 + the signal (as runc and docker exec). */
export function exitStatusOf(payload: Buffer): number {
  if (payload.length < 8) throw new GuestFailure('debug: short EXIT frame from the launcher');
  const value = payload.readInt32LE(4);
  return payload[0] === 1 ? 128 + value : value & 0xff;
}

/** ERROR payload: u32 errno then the message; the status docker exec would give (127, 126, 1). */
export function errorOf(payload: Buffer): { status: number; message: string } {
  const errno = payload.length >= 4 ? payload.readUInt32LE(0) : 0;
  return {
    status: errno === ENOENT ? 127 : errno === EACCES ? 126 : 1,
    message: payload.subarray(4).toString('utf8'),
  };
}

function write(sock: Socket, type: (typeof MsgType)[keyof typeof MsgType], payload?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (sock.write(encodeFrame(type, CLIENT_ID, payload))) resolve();
    else sock.once('drain', resolve);
  });
}

async function sendTool(sock: Socket, tool: Buffer): Promise<void> {
  for (let off = 0; off < tool.length; off += MAX_DATA_CHUNK)
    await write(sock, MsgType.STDIN, tool.subarray(off, off + MAX_DATA_CHUNK));
}

/** `sock`: connected to the launcher's exec socket. */
export function runDebugSession(
  sock: Socket,
  start: Buffer,
  tool: Buffer,
  terminal: boolean,
  io: DebugIo,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const decoder = new FrameDecoder();
    let started = false;
    let finished = false;
    const cleanups: (() => void)[] = [];
    const finish = (fn: () => void) => {
      if (finished) return;
      finished = true;
      for (const c of cleanups) c();
      sock.end();
      fn();
    };
    const resize = () => {
      if (started && terminal && io.stdout.rows && io.stdout.columns)
        sock.write(encodeFrame(MsgType.RESIZE, CLIENT_ID, encodeWinsize(io.stdout.rows, io.stdout.columns)));
    };
    const onFrame = (f: Frame) => {
      if (f.type === MsgType.STARTED) {
        started = true;
        resize();
      } else if (f.type === MsgType.STDOUT || f.type === MsgType.STDERR) {
        const out = f.type === MsgType.STDOUT ? io.stdout : io.stderr;
        // The launcher grants the guest more output once our socket took it: pausing it here
        // pauses the guest process when our stdout is slow.
        if (f.payload.length > 0 && !out.write(f.payload)) {
          sock.pause();
          out.once('drain', () => sock.resume());
        }
      } else if (f.type === MsgType.EXIT) {
        const status = exitStatusOf(f.payload);
        finish(() => resolve(status));
      } else if (f.type === MsgType.ERROR) {
        const e = errorOf(f.payload);
        io.stderr.write(`debug: ${e.message}\n`);
        finish(() => resolve(e.status));
      } else if (f.type === MsgType.LOG && f.payload.length > 0) {
        io.stderr.write(`debug: guest: ${f.payload.subarray(1).toString('utf8')}\n`);
      }
    };
    sock.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) onFrame(f);
      } catch (e) {
        finish(() => reject(new GuestFailure('debug: protocol error from the launcher', { cause: e })));
      }
    });
    sock.on('error', (e) => finish(() => reject(new GuestFailure('debug: the exec socket', { cause: e }))));
    sock.on('close', () =>
      finish(() => reject(new GuestFailure('debug: the container stopped during debug (no exit status)'))),
    );
    for (const sig of FORWARDED) {
      const h = () => {
        if (started) sock.write(encodeFrame(MsgType.SIGNAL, CLIENT_ID, encodeSignal(SIGNUM[sig])));
      };
      process.on(sig, h);
      cleanups.push(() => process.off(sig, h));
    }
    void (async () => {
      await write(sock, MsgType.START, start);
      await sendTool(sock, tool);
      if (terminal) {
        io.stdin.setRawMode?.(true);
        cleanups.push(() => io.stdin.setRawMode?.(false));
        io.stdout.on('resize', resize);
        cleanups.push(() => io.stdout.removeListener('resize', resize));
      }
      const onData = (d: Buffer) => {
        for (let off = 0; off < d.length; off += MAX_DATA_CHUNK)
          if (!sock.write(encodeFrame(MsgType.STDIN, CLIENT_ID, d.subarray(off, off + MAX_DATA_CHUNK)))) {
            io.stdin.pause();
            sock.once('drain', () => io.stdin.resume());
          }
      };
      const onEnd = () => sock.write(encodeFrame(MsgType.STDIN, CLIENT_ID, Buffer.alloc(0)));
      io.stdin.on('data', onData);
      io.stdin.once('end', onEnd);
      cleanups.push(() => {
        io.stdin.removeListener('data', onData);
        io.stdin.removeListener('end', onEnd);
        io.stdin.pause();
      });
    })();
  });
}
