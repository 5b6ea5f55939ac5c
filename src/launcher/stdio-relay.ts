/**
 * Relays the container's stdio (the shim's pipes, or the pty runc gave us for -t) to one
 * process in the guest. stdout and stderr stay separate; output is flushed before the
 * launcher exits so nothing written right before the workload's exit is lost.
 */
import type { Writable } from 'node:stream';
import type { AgentSession, ProcessHandlers } from './agent-session.ts';

/**
 * Pauses the agent channel while `out` is full. One drain listener per stream at a time: a
 * listener per write would pile up (and Node would warn on the workload's stderr).
 */
function backpressured(out: Writable, channel: NodeJS.ReadableStream): (data: Buffer) => void {
  let waiting = false;
  return (data) => {
    if (out.write(data) || waiting) return;
    waiting = true;
    channel.pause();
    out.once('drain', () => {
      waiting = false;
      channel.resume();
    });
  };
}

export function outputHandlers(channel: NodeJS.ReadableStream, onStarted: (pid: number) => void): ProcessHandlers {
  return {
    stdout: backpressured(process.stdout, channel),
    stderr: backpressured(process.stderr, channel),
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
