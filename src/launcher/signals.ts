/**
 * Signals the launcher (container PID 1) receives are meant for the workload: `docker stop`
 * and `docker kill -s` address PID 1, so every catchable signal is forwarded into the guest.
 * SIGKILL cannot be caught and takes the whole container (VMM included) down, as with runc.
 */
import { constants } from 'node:os';

/** Signals Node can safely listen for. SIGWINCH becomes a resize (Node's tty 'resize' event), SIGCHLD is libuv's. */
export const FORWARDED_SIGNALS: NodeJS.Signals[] = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGALRM', 'SIGCONT',
  'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGPWR', 'SIGSYS', 'SIGTRAP', 'SIGABRT',
];

export function signalNumber(name: NodeJS.Signals): number {
  const n = constants.signals[name];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
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
