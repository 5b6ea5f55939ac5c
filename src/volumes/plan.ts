/**
 * RUNCVM_VOLUMES=9p at `create` (pure): every bind mount and volume becomes an export of the
 * container's 9P server, and the server's jail is described as OCI mounts runc makes before the
 * launcher starts. The jail's root is a read-only copy of a small skeleton (config files and
 * empty mount points); diod's binary and libraries are bound read-only file by file; each
 * volume source is bound at /v/N (a directory) or /f/N/file (a single file: 9P exports
 * directories, so the file travels in a directory of its own and the guest binds it in place).
 */

import { type GuestMount, MS_RDONLY } from '../contracts/guest-mount.ts';
import { FILE_IN_EXPORT, type VolumeExport, type VolumeLink } from '../contracts/volume-server.ts';
import type { OciMount } from '../oci/spec.ts';
import { mountOptions } from './link.ts';

/** Where the jail appears in the launcher's root: inside its private /run tmpfs. */
export const JAIL_IN_CONTAINER = '/run/runcvm-vol';
export const DIOD_BINARY = '/usr/sbin/diod';

export interface SkeletonEntry {
  path: string;
  /** undefined: a directory; '' for an empty file (a mount point). */
  content?: string;
}

export interface VolumePlan {
  mounts: GuestMount[];
  exports: VolumeExport[];
}

/** Replaces each bind in `mounts` by a 9P mount of its export; tmpfs stays as it is. */
export function planVolumes(mounts: GuestMount[], link: VolumeLink, isFile: (source: string) => boolean): VolumePlan {
  const exports: VolumeExport[] = [];
  const out = mounts.map((m): GuestMount => {
    if (m.kind !== 'bind') return m;
    if (!m.source) throw new Error(`RUNCVM_VOLUMES=9p: the mount at ${m.destination} has no source`);
    const file = isFile(m.source);
    const aname = `/${file ? 'f' : 'v'}/${exports.length}`;
    exports.push({ aname, source: m.source, readonly: (m.flags & MS_RDONLY) !== 0, file });
    return { kind: '9p', destination: m.destination, flags: m.flags, options: mountOptions(link, aname), file };
  });
  return { mounts: out, exports };
}

/**
 * The jail's own files. /etc/hosts names the guest, because diod 1.0.24 drops any connection
 * whose peer address it cannot reverse-resolve; hosts.allow/deny (diod uses TCP wrappers) admit
 * the guest's address only; nsswitch keeps every lookup in these files.
 */
export function jailSkeleton(link: VolumeLink, exports: VolumeExport[], libraries: string[]): SkeletonEntry[] {
  const entries: SkeletonEntry[] = [
    { path: 'etc' },
    { path: 'etc/hosts', content: `${link.guestIp} runcvm-guest\n` },
    { path: 'etc/hosts.allow', content: `diod: ${link.guestIp}\n` },
    { path: 'etc/hosts.deny', content: 'ALL: ALL\n' },
    { path: 'etc/nsswitch.conf', content: 'hosts: files\npasswd: files\ngroup: files\n' },
  ];
  const files = [DIOD_BINARY, ...libraries];
  for (const f of files) entries.push(...parentsOf(f.slice(1)), { path: f.slice(1), content: '' });
  entries.push({ path: 'v' }, { path: 'f' });
  for (const e of exports) {
    entries.push({ path: e.aname.slice(1) });
    if (e.file) entries.push({ path: `${e.aname.slice(1)}/${FILE_IN_EXPORT}`, content: '' });
  }
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.path) && seen.add(e.path));
}

function parentsOf(path: string): SkeletonEntry[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => ({ path: parts.slice(0, i + 1).join('/') }));
}

/** OCI mounts that build the jail at JAIL_IN_CONTAINER from the skeleton at `skeletonDir` (a host path). */
export function jailMounts(skeletonDir: string, exports: VolumeExport[], libraries: string[]): OciMount[] {
  const ro = ['bind', 'ro', 'nosuid', 'nodev', 'rprivate'];
  const mounts: OciMount[] = [
    { destination: JAIL_IN_CONTAINER, type: 'bind', source: skeletonDir, options: [...ro, 'noexec'] },
    ...[DIOD_BINARY, ...libraries].map((f) => ({
      destination: `${JAIL_IN_CONTAINER}${f}`,
      type: 'bind',
      source: f,
      options: ro,
    })),
  ];
  for (const e of exports) {
    // nodev: a device node the guest creates on a volume must not open the host's device.
    const opts = ['rbind', 'nosuid', 'nodev', 'rprivate', ...(e.readonly ? ['ro'] : [])];
    const destination = `${JAIL_IN_CONTAINER}${e.aname}${e.file ? `/${FILE_IN_EXPORT}` : ''}`;
    mounts.push({ destination, type: 'bind', source: e.source, options: opts });
  }
  return mounts;
}

/**
 * Parses the dynamic loader's trace (`LD_TRACE_LOADED_OBJECTS=1 diod`): the absolute paths of
 * every library and of the loader itself, as the loader will look for them in the jail.
 */
export function parseLoaderTrace(trace: string): string[] {
  const out: string[] = [];
  for (const line of trace.split('\n')) {
    const m = /=>\s*(\/\S+)\s+\(/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m && !out.includes(m[1] as string)) out.push(m[1] as string);
  }
  return out;
}
