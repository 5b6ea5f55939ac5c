/**
 * CRI PortForward into a pod VM (docs/engines.md, "PortForward"). containerd implements
 * PortForward by entering the pod's network namespace on the host and dialling localhost:PORT
 * there (IPv4 first). In a pod VM the workload listens in the guest, and that namespace's loopback
 * is not the guest's. The pod VM's launcher lives in that namespace: it diverts every TCP
 * connection to 127.0.0.0/8 there to one relay port of its own (an iptables REDIRECT), and hands
 * each connection to runcvm-exec, which reads the port the connection was meant for
 * (SO_ORIGINAL_DST) and asks the guest agent to connect to localhost:PORT in the guest (START
 * with PORT, docs/agent-protocol.md). Nothing else in that namespace dials its loopback over TCP:
 * the pod's containers reach the pod VM over a Unix socket.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { encodeStart } from '../agent-protocol/messages.ts';
import { EXEC_PORT_ENV, EXEC_START_ENV, PREFIX_IN_CONTAINER } from '../contracts/launch-spec.ts';

/** Streams open at once; more are closed at once (a kubectl port-forward opens one per connection). */
export const MAX_STREAMS = 64;
/** What a failed stream's client said, kept for the launcher's log. */
const STDERR_MAX = 1024;
const MARK = 'runcvm-port-forward';

export type IptablesRunner = (args: string[]) => void;

/** The rule that diverts the namespace's loopback TCP to the relay (pure). */
export function redirectRule(relayPort: number): string[] {
  if (!Number.isInteger(relayPort) || relayPort < 1 || relayPort > 65535)
    throw new Error(`relay port ${relayPort}: expected 1 to 65535`);
  return [
    '-t',
    'nat',
    '-A',
    'OUTPUT',
    '-p',
    'tcp',
    '-d',
    '127.0.0.0/8',
    '-m',
    'comment',
    '--comment',
    MARK,
    '-j',
    'REDIRECT',
    '--to-ports',
    String(relayPort),
  ];
}

/** The START every stream sends; runcvm-exec appends the stream's PORT. */
export function streamStart(): string {
  return encodeStart({
    args: ['port-forward'],
    env: [],
    cwd: '/',
    uid: 0,
    gid: 0,
    groups: [],
    terminal: false,
  }).toString('base64');
}

export interface PortForwardDeps {
  iptables: IptablesRunner;
  /** Reports a stream or set-up failure (the launcher's stderr, i.e. the pod's launcher log). */
  problem: (message: string) => void;
  /** runcvm-exec; another program only in tests. */
  client?: string;
}

export interface PortForward {
  port: number;
  close(): void;
}

function relay(conn: Socket, client: string, start: string, done: () => void, problem: (m: string) => void): void {
  let child: ChildProcess;
  try {
    // The connection becomes the client's stdin and stdout; this process keeps no copy, so the
    // connection ends when the client does.
    child = spawn(client, [], {
      stdio: [conn, conn, 'pipe'],
      env: { [EXEC_START_ENV]: start, [EXEC_PORT_ENV]: '1' },
    });
  } catch (e) {
    conn.destroy();
    done();
    problem(`port-forward: starting ${client}: ${(e as Error).message}`);
    return;
  }
  conn.destroy();
  let said = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (said.length < STDERR_MAX) said += d.toString('utf8', 0, STDERR_MAX - said.length);
  });
  child.on('error', (e) => problem(`port-forward: ${client}: ${e.message}`));
  child.on('close', (code) => {
    done();
    if (code !== 0) problem(`port-forward stream ended with status ${code}: ${said.trim().replace(/\s+/g, ' ')}`);
  });
}

/**
 * Under runcvm-supervisor: a free port of the namespace's 127.0.0.1 for the supervisor to listen
 * on (portfwd.h), with loopback TCP diverted to it. The port is found by binding and freed again:
 * until the supervisor binds it, a connection there is refused, as before the pod VM started.
 */
export async function reserveRelayPort(iptables: IptablesRunner): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  try {
    iptables(redirectRule(port));
  } catch (e) {
    throw new Error(`port-forward: diverting the pod's loopback to the relay: ${(e as Error).message}`, { cause: e });
  }
  return port;
}

/** The program each stream is handed to. */
export const STREAM_CLIENT = `${PREFIX_IN_CONTAINER}/bin/runcvm-exec`;

/** Listens on a free port of the namespace's 127.0.0.1, then diverts loopback TCP to it. */
export async function servePortForward(deps: PortForwardDeps): Promise<PortForward> {
  const client = deps.client ?? STREAM_CLIENT;
  const start = streamStart();
  let active = 0;
  let refused = 0;
  // pauseOnConnect: not one byte is read here, the client gets the connection whole.
  const server: Server = createServer({ pauseOnConnect: true }, (conn) => {
    if (active >= MAX_STREAMS) {
      conn.destroy();
      if (refused++ % 100 === 0) deps.problem(`port-forward: over ${MAX_STREAMS} streams at once, closed (${refused})`);
      return;
    }
    active++;
    relay(conn, client, start, () => active--, deps.problem);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    deps.iptables(redirectRule(port));
  } catch (e) {
    server.close();
    throw new Error(`port-forward: diverting the pod's loopback to the relay: ${(e as Error).message}`, { cause: e });
  }
  return { port, close: () => server.close() };
}
