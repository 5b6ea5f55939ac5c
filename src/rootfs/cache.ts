/**
 * The image cache: one read-only ext4 per image layer chain, shared by every container of that
 * image. An entry is served only once its metadata file exists, and that file is written after
 * the ext4 was renamed into place, so an interrupted build is never served. Builds of one key
 * are serialized by a lock file holding the builder's pid (a dead builder's lock is taken over).
 * Eviction is least-recently-used under a size cap and skips every entry a container still has
 * mounted. No container reaches this directory, yet it is treated as pinned-dir.ts treats one that
 * could: temp files are created O_EXCL under unpredictable names and no link in it is followed
 * (runc would bind whatever a link as <key>.ext4 named into a container).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { parseSize } from '../common/size.ts';
import { OptionError } from '../contracts/errors.ts';
import { createExclusive, type NewFile, ownUid } from './pinned-dir.ts';

export const DEFAULT_CACHE_DIR = '/var/lib/runcvm/cache';
export const DEFAULT_CACHE_MAX = 20 * 1024 ** 3;
/** An entry picked by `create` is not mounted by runc yet: do not evict it for this long. */
const RECENT_USE_MS = 120_000;
const LOCK_POLL_MS = 100;
const LOCK_WAIT_MS = 30 * 60_000;

export interface CacheEntry {
  key: string;
  file: string;
  sizeBytes: number;
  /** Epoch ms of the last container start that used it. */
  lastUsedMs: number;
  /** What it was built from (image chain ID or layer dirs), for `runcvm cache ls`. */
  source: string;
}

interface Meta {
  key: string;
  source: string;
  sizeBytes: number;
  builtAtMs: number;
}

const KEY = /^[0-9a-f]{64}$/;
/** Metadata and lock files are a few hundred bytes; anything bigger is not ours. */
const SMALL_FILE_MAX = 64 * 1024;

/** A small regular file's text; a link, a directory or an oversized file throws. */
function readSmall(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > SMALL_FILE_MAX) throw new Error(`${path}: not a small regular file`);
    const buf = Buffer.alloc(st.size);
    return buf.subarray(0, readSync(fd, buf, 0, st.size, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** `<name>.tmp-<pid>-<random>`: removeOrphans finds the builder's pid, nobody can guess the name. */
function tmpName(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
}

/** The cache dir, made 0700 if missing; a link, a non-directory or a dir others can write is refused. */
function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory())
    throw new Error(`image cache: ${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}: refusing it`);
  if (st.uid !== ownUid() || (st.mode & 0o022) !== 0) {
    throw new Error(
      `image cache: ${dir} is owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8)}: it must be ours and writable by us alone`,
    );
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parses the cache cap (a size, common/size.ts); `name` is how the caller calls it, for the error. */
export function parseCacheMax(value: string | undefined, name = 'RUNCVM_CACHE_MAX'): number {
  if (value === undefined || value === '') return DEFAULT_CACHE_MAX;
  const bytes = parseSize(value);
  if (bytes === undefined)
    throw new OptionError(`${name}: invalid value "${value}" (a size such as 20g, 500m or 0; suffixes k, m, g, t)`);
  return bytes;
}

export class ImageCache {
  constructor(readonly dir: string = DEFAULT_CACHE_DIR) {}

  private file(key: string, ext: string): string {
    if (!KEY.test(key)) throw new Error(`image cache: invalid key "${key}"`);
    return join(this.dir, `${key}.${ext}`);
  }

  /** Where the cached ext4 of `key` is (or will be once built). */
  pathOf(key: string): string {
    return this.file(key, 'ext4');
  }

  private readMeta(key: string): Meta | undefined {
    try {
      const meta = JSON.parse(readSmall(this.file(key, 'json'))) as Meta;
      const st = lstatSync(this.file(key, 'ext4'));
      return st.isFile() && st.size === meta.sizeBytes ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Takes the key's lock, waiting for a live builder; returns the release function. */
  private lock(key: string, wait = true): (() => void) | undefined {
    const path = this.file(key, 'lock');
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const fd = createExclusive(path);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return () => rmSync(path, { force: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new Error(`image cache: locking ${path}: ${(e as Error).message}`);
      }
      let holder = 0;
      try {
        holder = Number.parseInt(readSmall(path), 10);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // released between our open and read
        // Not a lock file we wrote (a link, a directory...): unlink it, or fail on a directory below.
      }
      // An interrupted build (its builder died) leaves the lock behind: take it over.
      if (!Number.isFinite(holder) || holder <= 0 || !pidAlive(holder)) {
        rmSync(path, { force: true });
        continue;
      }
      if (!wait) return undefined;
      if (Date.now() > deadline)
        throw new Error(`image cache: ${path} still held by pid ${holder} after ${LOCK_WAIT_MS / 60_000} minutes`);
      sleepMs(LOCK_POLL_MS);
    }
  }

  /**
   * The cached ext4 of `key`, built by `build` into a fresh temp file if missing. Concurrent callers for the
   * same key wait for one build. The entry counts as used now.
   */
  getOrBuild(key: string, source: string, build: (out: NewFile) => void): { file: string; built: boolean } {
    ensurePrivateDir(this.dir);
    const file = this.file(key, 'ext4');
    let built = false;
    if (!this.readMeta(key)) {
      const release = this.lock(key) as () => void;
      try {
        if (!this.readMeta(key)) {
          const meta: Meta = { key, source, sizeBytes: this.writeNew(file, build), builtAtMs: Date.now() };
          this.writeNew(this.file(key, 'json'), (out) => writeSync(out.fd, JSON.stringify(meta)));
          built = true;
        }
      } finally {
        release();
      }
    }
    this.touch(key);
    return { file, built };
  }

  /** `file` made by `fill` in a fresh temp file, renamed into place once complete; returns its size. */
  private writeNew(file: string, fill: (out: NewFile) => void): number {
    const tmp = tmpName(file);
    const fd = createExclusive(tmp);
    try {
      fill({ fd, path: tmp });
      const size = fstatSync(fd).size;
      renameSync(tmp, file);
      return size;
    } finally {
      closeSync(fd);
      rmSync(tmp, { force: true });
    }
  }

  private touch(key: string): void {
    const now = new Date();
    try {
      lutimesSync(this.file(key, 'json'), now, now);
    } catch {
      // Evicted in between: the caller already holds the ext4 path and runc mounts it next.
    }
  }

  list(): CacheEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const entries: CacheEntry[] = [];
    for (const n of names) {
      const key = n.endsWith('.json') ? n.slice(0, -5) : '';
      if (!KEY.test(key)) continue;
      const meta = this.readMeta(key);
      if (!meta) continue;
      entries.push({
        key,
        file: this.file(key, 'ext4'),
        sizeBytes: meta.sizeBytes,
        lastUsedMs: lstatSync(this.file(key, 'json')).mtimeMs,
        source: meta.source,
      });
    }
    return entries.sort((a, b) => b.lastUsedMs - a.lastUsedMs);
  }

  /** Bytes in the cache dir, half-built files and orphans included. */
  totalBytes(): number {
    let total = 0;
    try {
      for (const n of readdirSync(this.dir)) total += lstatSync(join(this.dir, n)).size;
    } catch {
      // No cache dir yet.
    }
    return total;
  }

  /**
   * Evicts least-recently-used entries not in use until the cache holds at most maxBytes, and
   * removes leftovers of interrupted builds. Returns the evicted entries.
   */
  prune(
    maxBytes: number,
    inUse: (e: CacheEntry) => boolean = (e) => mountedByAnyone(e.file),
    now = Date.now(),
  ): CacheEntry[] {
    this.removeOrphans();
    const evicted: CacheEntry[] = [];
    let total = this.totalBytes();
    for (const e of this.list().reverse()) {
      if (total <= maxBytes) break;
      if (now - e.lastUsedMs < RECENT_USE_MS || inUse(e)) continue;
      const release = this.lock(e.key, false);
      if (!release) continue;
      try {
        // Metadata first: from then on the entry is not served, even if the ext4 removal fails.
        rmSync(this.file(e.key, 'json'), { force: true });
        rmSync(e.file, { force: true });
      } finally {
        release();
      }
      total -= e.sizeBytes;
      evicted.push(e);
    }
    return evicted;
  }

  /** Temp files of builders that died, and ext4 files whose metadata never got written. */
  private removeOrphans(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const n of names) {
      // Temp files and overlay scratch dirs (mnt-<pid>-*) carry their builder's pid.
      const tmp = /\.tmp-(\d+)(?:-[0-9a-f]+)?$/.exec(n) ?? /^mnt-(\d+)-/.exec(n);
      if (tmp && !pidAlive(Number(tmp[1]))) rmSync(join(this.dir, n), { recursive: true, force: true });
      const key = n.endsWith('.ext4') ? n.slice(0, -5) : '';
      if (KEY.test(key) && !this.readMeta(key)) {
        const release = this.lock(key, false);
        if (!release) continue;
        try {
          if (!this.readMeta(key)) rmSync(join(this.dir, n), { force: true });
        } finally {
          release();
        }
      }
    }
  }
}

/**
 * Whether any mount namespace on the host has `file` mounted: a created or running container
 * binds its base image into its own namespace (mountinfo's root field names the file).
 */
export function mountedByAnyone(file: string, procRoot = '/proc'): boolean {
  const name = `/${file.split('/').pop()}`;
  const seen = new Set<number>();
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((p) => /^\d+$/.test(p));
  } catch {
    return true; // cannot tell: keep it
  }
  for (const pid of pids) {
    try {
      const ns = statSync(join(procRoot, pid, 'ns', 'mnt')).ino;
      if (seen.has(ns)) continue;
      seen.add(ns);
      const info = readFileSync(join(procRoot, pid, 'mountinfo'), 'utf8');
      for (const line of info.split('\n')) {
        const root = line.split(' ')[3] ?? '';
        if (root.endsWith(name) || root.endsWith(`${name}//deleted`)) return true;
      }
    } catch {
      // The process exited while we looked.
    }
  }
  return false;
}
