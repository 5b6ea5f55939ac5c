/**
 * Binds one guest process to this process's stdio and signals: the launcher does it for the
 * workload, the exec client for a `docker exec`. Signals that arrive before the guest process
 * exists are delivered once it does.
 */

import { exitCode } from '../agent-protocol/messages.ts';
import type { WorkloadProcess } from '../contracts/workload-process.ts';
import type { AgentSession, ProcessOutcome } from './agent-session.ts';
import { forwardInitSignals, forwardSignals } from './signals.ts';
import { outputHandlers, relayStdin } from './stdio-relay.ts';

/** runc's start errors as exit statuses: Docker gives 127 for "not found", 126 for "permission denied". */
const ERRNO_EXIT: Record<number, number> = { 2: 127, 13: 126 };

export function outcomeCode(o: ProcessOutcome): number {
  return o.kind === 'exit' ? exitCode(o.status) : (ERRNO_EXIT[o.error.errno] ?? 1);
}

export function attachProcess(
  session: AgentSession,
  id: number,
  proc: WorkloadProcess,
  onStarted: (pid: number) => void = () => {},
): Promise<ProcessOutcome> {
  const pending: number[] = [];
  let started = false;
  const deliver = (signo: number) => (started ? session.signal(id, signo) : pending.push(signo));
  const resize = () => {
    if (process.stdout.isTTY) session.resize(id, process.stdout.rows, process.stdout.columns);
  };
  const unforwardNode = forwardSignals(deliver);
  const unforwardInit = forwardInitSignals(deliver);
  const unforward = () => {
    unforwardNode();
    unforwardInit();
  };
  // Node refreshes rows/columns on SIGWINCH before emitting 'resize'; a SIGWINCH listener of our own would read the old size.
  if (process.stdout.isTTY) process.stdout.on('resize', resize);
  const outcome = session.start(
    id,
    proc,
    outputHandlers((pid) => {
      started = true;
      resize();
      for (const s of pending.splice(0)) session.signal(id, s);
      onStarted(pid);
    }),
  );
  relayStdin(session, id, proc.terminal);
  return outcome.finally(() => {
    unforward();
    process.stdout.off('resize', resize);
    process.stdin.pause();
  });
}
