/**
 * Versions of what a runcvm start uses, for `runcvm version` and `doctor`: each is one line
 * "NAME version X" as the programs themselves print it, or the reason it cannot be told.
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_KERNEL } from '../contracts/kinds.ts';
import { readAgentVersion } from './agent-version.ts';

export interface ComponentVersion {
  name: string;
  path: string;
  /** The version string, or undefined with `error` saying why. */
  version?: string;
  /** All lines the program printed (runc's commit/spec/go lines), for `runcvm version`. */
  lines?: string[];
  error?: string;
}

/** Runs `BINARY ARGS` (a few seconds at most) and finds the version with PATTERN in its output. */
export function programVersion(name: string, path: string, args: string[], pattern: RegExp): ComponentVersion {
  const r = spawnSync(path, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error)
    return { name, path, error: `cannot run ${path}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const m = pattern.exec(out);
  if (!m?.[1]) return { name, path, error: `${path} ${args.join(' ')} printed no version (exit ${r.status})` };
  return { name, path, version: m[1], lines: (r.stdout ?? '').trim().split('\n').filter(Boolean) };
}

export const RUNC_VERSION = /runc version (\S+)/;

export function runcVersion(runc: string): ComponentVersion {
  return programVersion('runc', runc, ['--version'], RUNC_VERSION);
}

export function agentVersion(prefix: string, kernel: string = DEFAULT_KERNEL): ComponentVersion {
  const path = join(prefix, 'kernels', kernel, 'initramfs.cpio');
  const r = readAgentVersion(path);
  return { name: 'runcvm-agent', path, ...r };
}
