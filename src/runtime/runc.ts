/**
 * The one place runcvm runs runc: the verbs it passes through after its own work (create, exec,
 * update, delete) and `runc state`, which tells exec, update and delete where the bundle is.
 */
import { spawnSync } from 'node:child_process';
import { RuncvmError } from '../contracts/errors.ts';

/** What runcvm reads of `runc state`. */
export interface RuncState {
  pid: number;
  status: string;
  bundle: string;
}

/** runc's global flags that select the state root (the only global `runc state` needs). */
export function rootFlags(root: string | undefined): string[] {
  return root ? ['--root', root] : [];
}

/** `runc [globals] state ID`; fails with runc's own message. */
export function runcState(runc: string, globals: readonly string[], containerId: string): RuncState {
  const r = spawnSync(runc, [...globals, 'state', containerId], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new RuncvmError('internal', `runc state ${containerId}: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`, {
      context: { containerId, step: 'runc state' },
    });
  }
  return JSON.parse(r.stdout) as RuncState;
}

/** One entry of `runc list --format json`. */
export interface RuncListEntry extends RuncState {
  id: string;
}

/** `runc [globals] list --format json`: the containers of that state root (runc prints null for none). */
export function runcList(runc: string, globals: readonly string[]): RuncListEntry[] {
  const r = spawnSync(runc, [...globals, 'list', '--format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new RuncvmError('internal', `runc list: ${(r.stderr ?? '').trim() || `exit ${r.status}`}`, {
      context: { step: 'runc list' },
    });
  }
  const list = JSON.parse(r.stdout) as RuncListEntry[] | null;
  return Array.isArray(list) ? list : [];
}

/**
 * Runs runc with `argv` and our stdio (stdin replaced by `input` when given); returns its exit
 * status, 137 when a signal killed it.
 */
export function runRunc(runc: string, argv: readonly string[], input?: string): number {
  const r = spawnSync(runc, argv, { input, stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
  if (r.error) throw new RuncvmError('internal', `running ${runc}`, { cause: r.error });
  return r.status ?? 128 + 9;
}
