/** Docker's resolv.conf for a container, read on the host by create (launcher/vm-start.ts decides the DNS relay from it). */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { resolveInRoot } from '../common/resolve-in-root.ts';
import type { OciSpec } from '../oci/spec.ts';

const RESOLV_CONF_MAX = 64 * 1024;

/** At most RESOLV_CONF_MAX bytes of a regular file, never through a symlink; '' when there is none. */
function readSmallFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    if (!fstatSync(fd).isFile()) return '';
    const buf = Buffer.alloc(RESOLV_CONF_MAX);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The resolv.conf the guest will see, as the launcher reads it at /vm/etc/resolv.conf: Docker's
 * bind-mounted file, else the image's own (resolved inside the image root, no symlink out of it).
 */
export function containerResolvConf(spec: OciSpec): string {
  const bind = [...(spec.mounts ?? [])].reverse().find((m) => m.destination === '/etc/resolv.conf');
  if (bind?.source && (bind.type === 'bind' || bind.options?.some((o) => o === 'bind' || o === 'rbind')))
    return readSmallFile(bind.source);
  try {
    return readSmallFile(join(spec.root.path, resolveInRoot(spec.root.path, '/etc/resolv.conf')));
  } catch {
    return '';
  }
}
