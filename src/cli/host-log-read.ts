/**
 * `runcvm debug --log CONTAINER`: the container's host log (common/host-log.ts), oldest file
 * first. The launcher's sandbox can write that directory, so what is read is hostile: no link is
 * followed, at most READ_MAX bytes are read per file, and control characters (terminal escape
 * sequences) are replaced before anything reaches the operator's terminal.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { containerLogDir, HOST_LOG_ROOT, KEEP, LOG_FILE, MAX_BYTES } from '../common/host-log.ts';

/** A little over MAX_BYTES: the writer rotates before a line would pass it. */
const READ_MAX = MAX_BYTES + 64 * 1024;

/** The last READ_MAX bytes of a regular file, or '' when it is missing or not a plain file. */
function readBounded(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return '';
    const len = Math.min(st.size, READ_MAX);
    const buf = Buffer.alloc(len);
    const n = readSync(fd, buf, 0, len, st.size - len);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

export function sanitizeLog(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
}

export function readContainerLog(dir: string): string {
  const files = [...Array.from({ length: KEEP }, (_, i) => `${LOG_FILE}.${KEEP - i}`), LOG_FILE];
  return sanitizeLog(files.map((f) => readBounded(join(dir, f))).join(''));
}

/** Container ids that have a log: `query` itself, or those it is the start of. */
export function logIdsMatching(query: string, root = HOST_LOG_ROOT): string[] {
  let ids: string[];
  try {
    ids = readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  if (ids.includes(query)) return [query];
  return /^[0-9a-f]{1,64}$/.test(query) ? ids.filter((i) => i.startsWith(query)) : [];
}

export function logDirOf(id: string, root = HOST_LOG_ROOT): string {
  return containerLogDir(id, root);
}
