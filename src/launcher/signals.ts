/**
 * Signals the launcher (container PID 1) receives are meant for the workload: `docker stop`
 * and `docker kill -s` address PID 1, so every catchable signal is forwarded into the guest.
 * SIGKILL cannot be caught and takes the whole container (VMM included) down, as with runc.
 */
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants } from 'node:os';

/** Signals Node can safely listen for. SIGWINCH becomes a resize (Node's tty 'resize' event), SIGCHLD is libuv's. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = [
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGTERM',
  'SIGALRM',
  'SIGCONT',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGPWR',
  'SIGSYS',
  'SIGTRAP',
  'SIGABRT',
];

export function signalNumber(name: NodeJS.Signals): number {
  const n = constants.signals[name];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
}

/**
 * Signal numbers runcvm-init (the container's PID 1) passes on through fd 3, one byte each:
 * it receives what `docker kill`/`stop` send, including real-time signals Node cannot catch.
 */
export function forwardInitSignals(forward: (signo: number) => void, fdVar = process.env.RUNCVM_SIGNAL_FD): () => void {
  // Only runcvm-init sets the variable: elsewhere fd 3 may be one of libuv's own descriptors.
  const fd = fdVar === undefined ? Number.NaN : Number.parseInt(fdVar, 10);
  let stream: Socket | undefined;
  try {
    if (!(fd >= 3)) return () => {};
    fstatSync(fd);
    // A pipe read through libuv's stream handle, not fs reads (they would park a threadpool thread).
    stream = new Socket({ fd, readable: true, writable: false });
    stream.unref();
  } catch {
    return () => {};
  }
  stream.on('data', (chunk: Buffer | string) => {
    for (const b of Buffer.from(chunk)) forward(b);
  });
  stream.on('error', () => {});
  return () => stream?.destroy();
}

/** Installs forwarders; returns a function that removes them. */
export function forwardSignals(forward: (signo: number) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((name) => {
    const h = () => forward(signalNumber(name));
    process.on(name, h);
    return [name, h] as const;
  });
  return () => {
    for (const [name, h] of handlers) process.off(name, h);
  };
}
