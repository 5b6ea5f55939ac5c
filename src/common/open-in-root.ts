/**
 * Opening a file or a Unix socket inside a container's root from the host, as root, without
 * following a link planted there. `/proc/<pid>/root/a/b` alone is not safe: an absolute symlink
 * met on the way is resolved against the host's root, so a compromised launcher could point the
 * host at any host file or socket. Here every directory is opened one component at a time with
 * O_NOFOLLOW through the previous one's descriptor (/proc/self/fd/N/name), and the last component
 * too, then checked with fstat. A socket is opened with O_PATH and connected to through
 * /proc/self/fd/N, so the socket connected to is the very inode that was checked.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Linux's O_PATH (x86-64): Node passes open flags through but does not name this one. */
const O_PATH = 0o10000000;

function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.length === 0 || parts.some((p) => p === '.' || p === '..'))
    throw new Error(`open in root: "${rel}" is not a plain relative path`);
  return parts;
}

/** An open descriptor of `rel` under `root` (a directory, e.g. /proc/<pid>/root); the caller closes it. */
export function openInRoot(root: string, rel: string, kind: 'file' | 'socket'): number {
  const parts = components(rel);
  let dir = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const p of parts.slice(0, -1)) {
      const next = openSync(
        `/proc/self/fd/${dir}/${p}`,
        constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
      );
      closeSync(dir);
      dir = next;
    }
    const last = `/proc/self/fd/${dir}/${parts.at(-1)}`;
    const fd =
      kind === 'file'
        ? openSync(last, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
        : openSync(last, O_PATH | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (kind === 'file' ? !st.isFile() : !st.isSocket()) {
      closeSync(fd);
      throw new Error(`open in root: ${rel} is not a ${kind === 'file' ? 'regular file' : 'socket'}`);
    }
    return fd;
  } finally {
    closeSync(dir);
  }
}

/** The path to connect to for a socket descriptor from openInRoot (in this process only). */
export function socketPathOf(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/** At most `max` bytes of a regular file under `root`, read through a checked descriptor. */
export function readFileInRoot(root: string, rel: string, max: number): string {
  const fd = openInRoot(root, rel, 'file');
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    for (let r = 1; r > 0 && n < max; n += r) r = readSync(fd, buf, n, max - n, null);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
