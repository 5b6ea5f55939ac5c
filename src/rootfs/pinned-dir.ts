/**
 * Host-side file operations in a directory something less trusted can write. A container's
 * <layer>/runcvm is bound read-write into its launcher, so a compromised VMM may have left a
 * symlink, a directory, a fifo or a hard link at any name there, and `create` runs as host root.
 * Nothing here follows a link or reuses an entry it did not just make: the directory is opened
 * O_NOFOLLOW and pinned by its fd, names are reached through /proc/self/fd/<fd>/ (Node has no
 * openat), new files are created O_EXCL under unpredictable names and renamed into place (a rename
 * replaces a planted entry, it never follows it), and tools get the open file, never its name.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';

/** A file just created for the caller: `fd` is open for writing, `path` is for messages only. */
export interface NewFile {
  fd: number;
  path: string;
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;

function code(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

export function ownUid(): number {
  return process.getuid?.() ?? 0;
}

/** A new empty file at `path`, never an existing entry or what a link there names. */
export function createExclusive(path: string): number {
  return openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
}

export class PinnedDir {
  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {}

  /** Opens the directory at `path` (made 0700 if missing); refuses a symlink, a non-directory, or one that is not ours. */
  static open(path: string): PinnedDir {
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (e) {
      if (code(e) !== 'EEXIST') throw new Error(`${path}: ${(e as Error).message}`);
    }
    const st = lstatSync(path);
    if (st.isSymbolicLink())
      throw new Error(`${path}: a symlink where runcvm keeps its own directory: refusing to follow it`);
    if (!st.isDirectory()) throw new Error(`${path}: not a directory: refusing it`);
    const fd = openSync(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    const uid = fstatSync(fd).uid;
    if (uid !== ownUid()) {
      closeSync(fd);
      throw new Error(`${path}: owned by uid ${uid}, not made by runcvm: refusing it`);
    }
    return new PinnedDir(path, fd);
  }

  /** `name` inside the pinned directory, whatever happens to `path` meanwhile. */
  private at(name: string): string {
    if (name === '' || name.includes('/') || name === '.' || name === '..')
      throw new Error(`${this.path}: invalid entry name "${name}"`);
    return `/proc/self/fd/${this.fd}/${name}`;
  }

  show(name: string): string {
    return join(this.path, name);
  }

  names(): string[] {
    return readdirSync(`/proc/self/fd/${this.fd}`);
  }

  /** The entry itself (a link is not followed), or undefined. */
  lstat(name: string): Stats | undefined {
    try {
      return lstatSync(this.at(name));
    } catch (e) {
      if (code(e) === 'ENOENT') return undefined;
      throw new Error(`${this.show(name)}: ${(e as Error).message}`);
    }
  }

  /** Removes the entry `name` (a link, never its target); refuses a directory. */
  remove(name: string): void {
    try {
      unlinkSync(this.at(name));
    } catch (e) {
      if (code(e) === 'ENOENT') return;
      throw new Error(
        code(e) === 'EISDIR' ? this.dirRefusal(name) : `removing ${this.show(name)}: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Makes `name` anew: `fill` writes a fresh file created O_EXCL (never a planted one), which is
   * renamed over whatever `name` was only once complete. A directory at `name` is refused.
   */
  replace(name: string, fill: (out: NewFile) => void): void {
    if (this.lstat(name)?.isDirectory()) throw new Error(this.dirRefusal(name));
    const tmp = `${name}.tmp-${randomBytes(8).toString('hex')}`;
    const fd = createExclusive(this.at(tmp));
    try {
      fill({ fd, path: this.show(tmp) });
      renameSync(this.at(tmp), this.at(name));
    } catch (e) {
      try {
        unlinkSync(this.at(tmp));
      } catch {
        // Renamed already, or never made.
      }
      throw e;
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private dirRefusal(name: string): string {
    return `${this.show(name)}: a directory where runcvm keeps a drive file: refusing it (remove it to start the container)`;
  }
}
