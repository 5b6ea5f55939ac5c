/**
 * Relays the container's stdio (the shim's pipes, or the pty runc gave us for -t) to one
 * process in the guest. stdout and stderr stay separate; output is flushed before the
 * launcher exits so nothing written right before the workload's exit is lost.
 */
import type { Writable } from 'node:stream';
import type { AgentSession, ProcessHandlers } from './agent-session.ts';

/**
 * Writes guest output to `out` and reports it consumed once `out` has taken it (the write's
 * callback), which is what grants the guest more credit (agent-session.ts). A full pipe thus
 * stops only this process in the guest, never the channel; an error (reader gone) still counts
 * as consumed, so the process is not left blocked on output nobody will read.
 */
function consumer(out: Writable): (data: Buffer, done: () => void) => void {
  return (data, done) => {
    out.write(data, () => done());
  };
}

export function outputHandlers(onStarted: (pid: number) => void): ProcessHandlers {
  return {
    stdout: consumer(process.stdout),
    stderr: consumer(process.stderr),
    started: onStarted,
  };
}

/** Streams the launcher's stdin to process `id`; EOF closes the guest process's stdin. */
export function relayStdin(session: AgentSession, id: number, terminal: boolean): void {
  const input = process.stdin;
  if (terminal && input.isTTY) input.setRawMode(true);
  let waiting = false;
  input.on('data', (chunk: Buffer) => {
    if (session.stdin(id, chunk) || waiting) return;
    waiting = true;
    input.pause();
    session.onDrain(() => {
      waiting = false;
      input.resume();
    });
  });
  input.on('end', () => session.closeStdin(id));
  input.on('error', () => session.closeStdin(id));
}

export function flush(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}
