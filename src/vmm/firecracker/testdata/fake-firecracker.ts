/**
 * Test fixture, not Firecracker: a program with Firecracker's command line and API-socket
 * behaviour, for the driver's protocol test (protocol.test.ts). Every request is checked against
 * runcvm's Firecracker API contract (api-contract.ts) and answered the way Firecracker answers
 * (204, or 400 with a fault_message). After InstanceStart it serves the vsock Unix socket with Firecracker's
 * `CONNECT <port>` / `OK <port>` handshake, where a stand-in guest agent on port 1024 sends
 * HELLO; SHUTDOWN (agent) and SendCtrlAltDel end the process as a guest reset ends Firecracker.
 *
 * The stand-in agent answers START with STARTED and an EXIT of status FAKE_FC_EXIT (default 0),
 * so runcvm-supervisor can run a whole container against it
 * (src/launcher/supervisor-firecracker.test.ts). Each way it ends is logged as { exit: why }.
 *
 * Environment: FAKE_FC_LOG (file: one JSON line per request), FAKE_FC_VERSION (default 1.16.1),
 * FAKE_FC_IGNORE_CAD=1 (SendCtrlAltDel does nothing, as with a hung guest),
 * FAKE_FC_IGNORE_SHUTDOWN=1 (SHUTDOWN does nothing, as with a guest that does not power off),
 * FAKE_FC_EXIT (the workload's exit status), FAKE_FC_CONSOLE_BYTES (console output before the agent
 * listens, bootThenServe).
 */
import { appendFileSync, writeSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { encodeFrame, FrameDecoder, MsgType, PROTOCOL_VERSION } from '../../../agent-protocol/frame.ts';
import { encodeHello } from '../../../agent-protocol/messages.ts';
import { checkCall, checkResponse } from './contract-check.ts';

const VERSION = process.env.FAKE_FC_VERSION ?? '1.16.1';
const AGENT_PORT = 1024;
const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`Firecracker v${VERSION}\n\nSupported snapshot data format versions: v1.0.0\n`);
  process.exit(0);
}

const apiSocket = args[args.indexOf('--api-sock') + 1];
if (!apiSocket || args.indexOf('--api-sock') < 0) {
  process.stderr.write('fake-firecracker: --api-sock is required\n');
  process.exit(1);
}

const configured = new Map<string, unknown>();
let started = false;

function log(entry: object): void {
  if (process.env.FAKE_FC_LOG) appendFileSync(process.env.FAKE_FC_LOG, `${JSON.stringify(entry)}\n`);
}

/** The stand-in guest: HELLO on connect, and a reset (exit) on SHUTDOWN. */
function agent(conn: Socket): void {
  conn.write(encodeFrame(MsgType.HELLO, 0, encodeHello(PROTOCOL_VERSION, 'fake-agent')));
  const dec = new FrameDecoder();
  conn.on('data', (d: Buffer) => {
    for (const f of dec.push(d)) {
      log({ frame: f.type, id: f.id, bytes: f.payload.length });
      if (f.type === MsgType.SHUTDOWN && process.env.FAKE_FC_IGNORE_SHUTDOWN !== '1') {
        log({ exit: 'SHUTDOWN' });
        setTimeout(() => process.exit(0), 20);
      }
      if (f.type === MsgType.START) {
        const pid = Buffer.alloc(4);
        pid.writeUInt32LE(100);
        const exit = Buffer.alloc(8);
        exit.writeInt32LE(Number(process.env.FAKE_FC_EXIT ?? 0), 4);
        conn.write(Buffer.concat([encodeFrame(MsgType.STARTED, f.id, pid), encodeFrame(MsgType.EXIT, f.id, exit)]));
      }
    }
  });
}

function serveVsock(udsPath: string): void {
  let connections = 0;
  createNetServer((conn) => {
    let line = '';
    const onData = (d: Buffer) => {
      line += d.toString('latin1');
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      conn.off('data', onData);
      const port = Number(/^CONNECT (\d+)$/.exec(line.slice(0, nl))?.[1]);
      log({ vsock: line.slice(0, nl) });
      // The first attempt finds the guest not listening yet: Firecracker just closes the stream.
      if (port !== AGENT_PORT || ++connections === 1) return void conn.destroy();
      conn.write(`OK ${1073741824 + connections}\n`);
      agent(conn);
    };
    conn.on('data', onData);
  }).listen(udsPath);
}

/**
 * The guest boots, then its agent listens. FAKE_FC_CONSOLE_BYTES: the boot first prints that many
 * bytes of console on stdout, as Firecracker's serial port does, with blocking writes: a reader
 * that does not drain the pipe holds the "guest" before its agent listens.
 */
/** A write that waits for room as a blocking one does (Node made the pipe non-blocking). */
function blockingWrite(b: Buffer): void {
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(1, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function bootThenServe(udsPath: string): void {
  const bytes = Number(process.env.FAKE_FC_CONSOLE_BYTES ?? 0);
  if (!bytes) return serveVsock(udsPath);
  setTimeout(() => {
    const line = Buffer.from('[    0.000000] console line of a booting guest\n');
    for (let left = bytes; left > 0; left -= line.length) blockingWrite(line.subarray(0, Math.min(left, line.length)));
    serveVsock(udsPath);
  }, 200);
}

function answer(res: import('node:http').ServerResponse, status: number, body?: object): void {
  if (body) res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  else res.writeHead(status).end();
}

/** The stand-in's own answers keep the contract too, or it fails loudly. */
function contractAnswer(method: string, path: string, body: object): object {
  const problems = checkResponse(method, path, body);
  if (problems.length > 0) throw new Error(`fake-firecracker: ${problems.join('; ')}`);
  return body;
}

function handle(method: string, path: string, body: unknown, res: import('node:http').ServerResponse): void {
  let problems: string[];
  try {
    problems = checkCall(method, path, body);
  } catch (e) {
    return answer(res, 400, { fault_message: (e as Error).message });
  }
  log({ method, path, body, problems });
  if (problems.length > 0) return answer(res, 400, { fault_message: problems.join('; ') });
  if (method === 'GET' && path === '/version')
    return answer(res, 200, contractAnswer(method, path, { firecracker_version: VERSION }));
  if (path === '/actions') {
    const action = (body as { action_type: string }).action_type;
    if (action === 'InstanceStart') {
      if (started)
        return answer(res, 400, {
          fault_message: 'The requested operation is not supported after starting the microVM.',
        });
      if (!configured.has('/boot-source'))
        return answer(res, 400, { fault_message: 'Cannot start microvm without kernel configuration.' });
      const vsock = configured.get('/vsock') as { uds_path: string } | undefined;
      if (vsock) bootThenServe(vsock.uds_path);
      started = true;
      return answer(res, 204);
    }
    if (action === 'SendCtrlAltDel') {
      if (!started)
        return answer(res, 400, {
          fault_message: 'The requested operation is not supported before starting the microVM.',
        });
      if (process.env.FAKE_FC_IGNORE_CAD !== '1') {
        log({ exit: 'SendCtrlAltDel' });
        setTimeout(() => process.exit(0), 20);
      }
      return answer(res, 204);
    }
  }
  if (method === 'PUT') {
    if (started)
      return answer(res, 400, {
        fault_message: 'The requested operation is not supported after starting the microVM.',
      });
    configured.set(path, body);
    return answer(res, 204);
  }
  return answer(res, 400, { fault_message: `${method} ${path}: not handled by this fixture` });
}

createHttpServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (d: Buffer) => chunks.push(d));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return answer(res, 400, { fault_message: 'invalid JSON body' });
    }
    handle(req.method ?? '', req.url ?? '', body, res);
  });
}).listen(apiSocket);
