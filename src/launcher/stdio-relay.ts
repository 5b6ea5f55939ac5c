/**
 * Relays the container's stdio (the shim's pipes, or the pty runc gave us for -t) to one
 * process in the guest. stdout and stderr stay separate; output is flushed before the
 * launcher exits so nothing written right before the workload's exit is lost.
 */
import type { Writable } from 'node:stream';
import type { AgentSession, ProcessHandlers } from './agent-session.ts';

function writeWithBackpressure(out: Writable, data: Buffer, pauseInput: () => void, resumeInput: () => void): void {
  if (!out.write(data)) {
    pauseInput();
    out.once('drain', resumeInput);
  }
}

export function outputHandlers(channel: NodeJS.ReadableStream, onStarted: (pid: number) => void): ProcessHandlers {
  const pause = () => channel.pause();
  const resume = () => channel.resume();
  return {
    stdout: (d) => writeWithBackpressure(process.stdout, d, pause, resume),
    stderr: (d) => writeWithBackpressure(process.stderr, d, pause, resume),
    started: onStarted,
  };
}

/** Streams the launcher's stdin to process `id`; EOF closes the guest process's stdin. */
export function relayStdin(session: AgentSession, id: number, terminal: boolean): void {
  const input = process.stdin;
  if (terminal && input.isTTY) input.setRawMode(true);
  input.on('data', (chunk: Buffer) => {
    if (!session.stdin(id, chunk)) {
      input.pause();
      session.onDrain(() => input.resume());
    }
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
