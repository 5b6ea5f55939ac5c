/**
 * RUNCVM_DISKS in the launcher: each disk's backing file is found (or created) in the
 * workload's filesystem view (/vm, volumes mounted), then attached as a virtio-blk device the
 * guest finds by serial. A new file is a sparse file of the requested size, formatted with
 * `mke2fs -d` from the destination directory's current content, so a disk mounted over
 * /var/lib/docker starts with what the image had there. It is built under a temporary name
 * and renamed, so an interrupted first start never leaves a half-made disk that looks done.
 */
import { execFile } from 'node:child_process';
import { closeSync, ftruncateSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { resolveInRoot } from '../common/resolve-in-root.ts';
import { OptionError } from '../contracts/errors.ts';
import type { LaunchDisk } from '../contracts/launch-spec.ts';
import type { BlockDevice } from '../vmm/vm-spec.ts';

export const MKE2FS = '/usr/sbin/mke2fs';
const run = promisify(execFile);

/** A RUNCVM_DISKS entry the launcher cannot attach: the container's option is at fault. */
export class DiskError extends OptionError {}

function statOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function createDisk(d: LaunchDisk, file: string, dstDir: string | undefined, mke2fs: string): Promise<void> {
  if (d.sizeBytes === undefined) {
    throw new DiskError(
      `RUNCVM_DISKS: ${d.src} does not exist and no size was given to create it (<src>,<dst>,<fs>,<size>)`,
    );
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.runcvm-new`;
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    ftruncateSync(fd, d.sizeBytes);
  } finally {
    closeSync(fd);
  }
  // -d copies the directory's content (owners, modes, symlinks) into the new filesystem.
  const args = ['-q', '-F', '-t', d.fs, '-E', 'lazy_itable_init=1', ...(dstDir ? ['-d', dstDir] : []), tmp];
  try {
    await run(mke2fs, args, { timeout: 120_000 });
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as Error & { stderr?: string };
    throw new DiskError(
      `RUNCVM_DISKS: creating ${d.src} (${d.fs}, ${d.sizeBytes} bytes) failed: ${(err.stderr || err.message).trim()}`,
    );
  }
  renameSync(tmp, file);
}

/** Finds or creates every disk's backing file under `root`; returns the block devices to attach. */
export async function prepareDisks(
  disks: readonly LaunchDisk[],
  root: string,
  mke2fs = MKE2FS,
): Promise<BlockDevice[]> {
  const out: BlockDevice[] = [];
  for (const d of disks) {
    // Resolved inside the workload's view: an image symlink cannot point the file elsewhere.
    const file = join(root, resolveInRoot(root, d.src));
    const st = statOrUndefined(file);
    if (st && !st.isFile()) throw new DiskError(`RUNCVM_DISKS: ${d.src} exists but is not a regular file`);
    if (!st) {
      const dst = join(root, resolveInRoot(root, d.dst));
      const dstStat = statOrUndefined(dst);
      if (dstStat && !dstStat.isDirectory())
        throw new DiskError(`RUNCVM_DISKS: ${d.dst} exists but is not a directory`);
      await createDisk(d, file, dstStat ? dst : undefined, mke2fs);
    } else if (statSync(file).size < 1024 * 1024) {
      throw new DiskError(`RUNCVM_DISKS: ${d.src} is smaller than 1 MiB: not a disk image made by runcvm`);
    }
    out.push({ id: `disk${out.length}`, path: file, readonly: false, serial: d.serial });
  }
  return out;
}
