/**
 * `create`'s part of the per-container host log (common/host-log.ts): make the container's
 * directory under /var/log/runcvm, bind it into the launcher's sandbox, and open it for the
 * runtime's own lines (the options chosen, a cold image-cache build with its duration). Logs
 * are kept after the container is deleted (the log of a failed `docker run --rm` is the one an
 * operator wants); create removes those not written for PRUNE_AGE_MS, at most once per
 * PRUNE_EVERY_MS, never one of a running VM. A log problem never fails the container.
 */
import { lstatSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_LOG_IN_CONTAINER, HOST_LOG_ROOT, HostLog, LOG_FILE, makeContainerLogDir } from '../common/host-log.ts';
import { describeError } from '../contracts/errors.ts';
import type { OciSpec } from '../oci/spec.ts';

export const PRUNE_AGE_MS = 7 * 24 * 3600 * 1000;
export const PRUNE_EVERY_MS = 3600 * 1000;
const STAMP = '.pruned';

export function openContainerLog(
  containerId: string,
  config: OciSpec,
  warn: (msg: string) => void,
  root = HOST_LOG_ROOT,
): HostLog | undefined {
  let dir: string;
  try {
    dir = makeContainerLogDir(containerId, root);
  } catch (e) {
    warn(`no host log for this container: ${describeError(e)}`);
    return undefined;
  }
  // On the launcher's /run tmpfs, so runc creates the mount point there, never in the runtime root.
  config.mounts = [
    ...(config.mounts ?? []),
    {
      destination: HOST_LOG_IN_CONTAINER,
      type: 'bind',
      source: dir,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    },
  ];
  return new HostLog(dir, Date.now, (m) => warn(m));
}

/** Newest write time of a log directory's files (the directory's own time when it has none). */
function lastWritten(dir: string): number {
  let t = lstatSync(dir).mtimeMs;
  for (const n of readdirSync(dir)) if (n.startsWith(LOG_FILE)) t = Math.max(t, lstatSync(join(dir, n)).mtimeMs);
  return t;
}

/**
 * Removes the logs of containers not written for PRUNE_AGE_MS; `running` gives the ids of the
 * VMs running now (they keep theirs, however quiet). Returns the ids removed.
 */
export function pruneContainerLogs(now: number, running: () => Set<string>, root = HOST_LOG_ROOT): string[] {
  const stamp = join(root, STAMP);
  try {
    if (now - statSync(stamp).mtimeMs < PRUNE_EVERY_MS) return [];
  } catch {
    // Never pruned.
  }
  try {
    writeFileSync(stamp, '');
    utimesSync(stamp, now / 1000, now / 1000);
  } catch {
    return [];
  }
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch {
    return [];
  }
  const live = running();
  const removed: string[] = [];
  for (const id of ids) {
    if (id === STAMP || live.has(id)) continue;
    const dir = join(root, id);
    try {
      // A directory only: rmSync never follows links below it.
      if (!lstatSync(dir).isDirectory() || now - lastWritten(dir) < PRUNE_AGE_MS) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(id);
    } catch {
      // Removed by another create meanwhile, or unreadable: left for next time.
    }
  }
  return removed;
}
