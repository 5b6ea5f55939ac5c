/**
 * containerd's CRI starts a pod sandbox with no stdio: whatever the pod VM's launcher says on
 * stderr (why the VM stopped, guest errors) would be lost. When the runtime bound the pod's log
 * dir (runtime/pod-vm.ts), stderr is copied there too, capped so a chatty guest cannot fill the
 * host's disk.
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { POD_LOG_DIR, POD_LOG_FILE } from '../contracts/launch-spec.ts';

/** The launcher's copy and, after the handover, runcvm-supervisor's together (podlog.h: POD_LOG_MAX). */
export const MAX_BYTES = 1024 * 1024;

export interface PodLogCopy {
  /** The log file, for runcvm-supervisor to go on copying after the handover. */
  path?: string;
  /** Bytes copied so far: what is left of MAX_BYTES is the supervisor's. */
  written(): number;
  stop(): void;
}

/** Starts the copy when this launcher is a pod VM's. */
export function teeStderrToPodLog(dir = POD_LOG_DIR): PodLogCopy {
  if (!existsSync(dir)) return { written: () => 0, stop: () => {} };
  const path = join(dir, POD_LOG_FILE);
  let fd: number | undefined = openSync(path, 'a', 0o600);
  let written = 0;
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (fd !== undefined && written < MAX_BYTES) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      const part = b.subarray(0, MAX_BYTES - written);
      try {
        written += writeSync(fd, part);
      } catch {
        // The log is a copy: stderr itself still gets the line.
      }
    }
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  return {
    path,
    written: () => written,
    stop: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
