/**
 * Replaces a file in one step: a reader (runc, containerd, the launcher) sees the old content
 * or the new one, never a half-written file. Files built in place by another program (ext4
 * drives, the image cache) have their own temp-and-rename in rootfs/ and launcher/disks.ts.
 */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.runcvm-tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data, { mode });
    // The mode given to writeFileSync is masked by the umask; this one is exact.
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
