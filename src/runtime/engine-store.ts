/**
 * Facts `create` reads from the engine's own store next to the container's root
 * (<store>/<driver>/<layer>/merged): Docker's config.v2.json, Podman's containers.json. The files
 * are the engine's (root-owned), but their content comes partly from an untrusted image or user:
 * only the fields asked for are taken, with their types checked, and files are size-capped.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const MAX_JSON_BYTES = 64 * 1024 * 1024;
export const HEX64 = /^[0-9a-f]{64}$/;

export function readStoreJson(path: string): unknown {
  if (statSync(path).size > MAX_JSON_BYTES) throw new Error(`${path}: larger than ${MAX_JSON_BYTES} bytes`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The store and storage driver of a root at <store>/<driver>/<layer>/merged, or undefined. */
export function storeOf(rootPath: string): { store: string; driver: string } | undefined {
  if (basename(rootPath) !== 'merged') return undefined;
  const driverDir = dirname(dirname(rootPath));
  return { store: dirname(driverDir), driver: basename(driverDir) };
}

/**
 * A Docker Swarm task (its container carries the task label): Swarm may put its routing mesh's
 * port redirects into the task's namespace before the workload starts, which only the net-sync
 * step mirrors (network/port-redirects.ts), so the supervisor must take its first look for it.
 */
export function isSwarmTask(rootPath: string, containerId: string): boolean {
  const at = storeOf(rootPath);
  if (!at || !HEX64.test(containerId)) return false;
  try {
    const cfg = readStoreJson(join(at.store, 'containers', containerId, 'config.v2.json')) as {
      Config?: { Labels?: unknown };
    };
    const labels = cfg.Config?.Labels;
    return typeof labels === 'object' && labels !== null && 'com.docker.swarm.task.id' in labels;
  } catch {
    // Not Docker's layout, or no such file: no Swarm task.
    return false;
  }
}
