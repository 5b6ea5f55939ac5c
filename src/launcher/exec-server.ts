/**
 * Lets `docker exec` clients reach the guest through the launcher's single agent channel.
 * A client speaks the agent protocol itself (START, then STDIN/SIGNAL/RESIZE); the server gives
 * its process a fresh guest id and relays frames both ways, so exec needs no second channel.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { encodeFrame, type Frame, FrameDecoder, MsgType, type MsgTypeValue } from '../agent-protocol/frame.ts';
import { encodeSignal } from '../agent-protocol/messages.ts';
import type { AgentSession } from './agent-session.ts';

export const EXEC_SOCKET = '/run/runcvm/exec.sock';
const FIRST_EXEC_ID = 2;
const CLIENT_TYPES = new Set<number>([MsgType.STDIN, MsgType.SIGNAL, MsgType.RESIZE]);
const SIGKILL = 9;

function relayClient(conn: Socket, session: AgentSession, allocate: () => number): void {
  const decoder = new FrameDecoder();
  let guestId: number | undefined;
  let done = false;
  let waiting = false;
  // Output written to the client but not yet taken by its socket: released if the client goes
  // away, so the guest process is never left waiting for credit nobody will grant.
  const unconsumed = new Set<() => void>();
  const toClient = (clientId: number) => (f: Frame, consumed: () => void) => {
    const final = f.type === MsgType.EXIT || f.type === MsgType.ERROR;
    if (final) done = true;
    if (conn.destroyed) {
      consumed();
      return;
    }
    // The write callback fires once the kernel took the bytes: that is when the guest gets more
    // credit (flow.ts), so a client that stops reading stops the process, not the launcher's memory.
    unconsumed.add(consumed);
    conn.write(encodeFrame(f.type as MsgTypeValue, clientId, f.payload), () => {
      unconsumed.delete(consumed);
      consumed();
    });
    if (final) conn.end();
  };
  conn.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch {
      conn.destroy();
      return;
    }
    for (const f of frames) {
      if (f.type === MsgType.START && guestId === undefined) {
        guestId = allocate();
        session.startRaw(guestId, f.payload, toClient(f.id));
      } else if (guestId !== undefined && CLIENT_TYPES.has(f.type)) {
        if (!session.forward(f.type as MsgTypeValue, guestId, f.payload) && !waiting) {
          waiting = true;
          conn.pause();
          session.onDrain(() => {
            waiting = false;
            conn.resume();
          });
        }
      }
    }
  });
  // A client that goes away (docker exec killed, shim cleanup) must not leave its process running.
  conn.on('close', () => {
    for (const c of unconsumed) c();
    unconsumed.clear();
    if (guestId !== undefined && !done) session.forward(MsgType.SIGNAL, guestId, encodeSignal(SIGKILL));
  });
  conn.on('error', () => conn.destroy());
}

/** Guest process ids for every exec socket of one VM (they share the agent channel). */
export function execIds(): () => number {
  let next = FIRST_EXEC_ID;
  return () => next++;
}

export function serveExec(session: AgentSession, path = EXEC_SOCKET, allocate = execIds()): Promise<Server> {
  const server = createServer((conn) => relayClient(conn, session, allocate));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}
