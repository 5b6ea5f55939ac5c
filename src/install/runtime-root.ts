/**
 * The runtime root (<prefix>/rt): the read-only root of every runcvm container. It holds only
 * empty mount points and the host's merged-/usr symlinks; binaries come from a read-only bind
 * of host /usr and the image is mounted at /vm. Every mount point runc needs must already exist
 * here, or runc would create it on the host in this shared tree.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const MOUNT_DIRS = ['usr', 'proc', 'sys', 'dev', 'run', 'tmp', 'vm', 'opt/runcvm', '.runcvm', '.runcvm-disks', 'etc'];
/** Top-level dirs Debian 12 keeps as symlinks into /usr; another host may have real dirs. */
const MERGED_USR = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

export interface RuntimeRootPlan {
  /** Names of top-level host dirs that must be bind-mounted (not merged-/usr symlinks). */
  hostDirs: string[];
}

function ensureSymlink(path: string, target: string): void {
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === target) return;
    rmSync(path, { recursive: true, force: true });
  } catch {
    // Missing: created below.
  }
  symlinkSync(target, path);
}

export function buildRuntimeRoot(rt: string, hostRoot = '/'): RuntimeRootPlan {
  const hostDirs: string[] = [];
  for (const d of MOUNT_DIRS) mkdirSync(join(rt, d), { recursive: true, mode: 0o755 });
  const cache = join(rt, 'etc/ld.so.cache');
  if (!existsSync(cache)) writeFileSync(cache, '');
  for (const name of MERGED_USR) {
    const host = join(hostRoot, name);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) ensureSymlink(join(rt, name), readlinkSync(host));
    else if (st.isDirectory()) {
      mkdirSync(join(rt, name), { recursive: true });
      hostDirs.push(name);
    }
  }
  mkdirSync(join(rt, 'var'), { recursive: true });
  // virtiofsd keeps its lock files in /var/run; /run is the launcher's tmpfs.
  ensureSymlink(join(rt, 'var/run'), '../run');
  return { hostDirs };
}
