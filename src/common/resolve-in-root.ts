/**
 * Resolve a path inside a container root the way the container would see it: symlinks are
 * followed but can never leave the root (absolute targets restart at the root, `..` stops at
 * it). Mount destinations are relocated under /vm in the launcher's runtime root; resolving
 * them here first means an image symlink such as `/data -> /usr/bin` cannot redirect a volume
 * over the launcher's own binaries.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINKS = 255;

export interface FsView {
  /** Symlink target, `null` if the path is not a symlink, `undefined` if it does not exist. */
  readLink(absPath: string): string | null | undefined;
}

export const realFs: FsView = {
  readLink(absPath) {
    try {
      if (!lstatSync(absPath).isSymbolicLink()) return null;
      return readlinkSync(absPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw e;
    }
  },
};

/** Returns an absolute, symlink-free path relative to `root` (starts with `/`). */
export function resolveInRoot(root: string, path: string, fs: FsView = realFs): string {
  const done: string[] = [];
  let todo = path.split('/').filter(Boolean);
  let links = 0;
  let missing = false;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    if (missing) {
      done.push(part);
      continue;
    }
    const target = fs.readLink(join(root, ...done, part));
    if (target === undefined) {
      missing = true;
      done.push(part);
    } else if (target === null) {
      done.push(part);
    } else {
      if (++links > MAX_LINKS) throw new Error(`resolving ${path} in ${root}: too many levels of symbolic links`);
      if (target.startsWith('/')) done.length = 0;
      todo = [...target.split('/').filter(Boolean), ...todo];
    }
  }
  return `/${done.join('/')}`;
}
