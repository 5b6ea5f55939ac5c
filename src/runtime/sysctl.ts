/**
 * The OCI spec's `linux.sysctl` (Docker's defaults, `--sysctl`, Podman, CRI) belongs to the
 * workload, whose network, IPC and UTS namespaces are the guest's: `create` checks each key with
 * runc's rules and messages (libcontainer/configs/validate: a key must be namespaced, and its
 * namespace private), and the agent writes them in the guest before the workload starts. The
 * launcher's own namespaces never get them (rewrite.ts drops the field). docs/networking.md.
 */

import { OptionError } from '../contracts/errors.ts';
import type { GuestSysctl } from '../contracts/guest-sysctl.ts';
import type { OciLinux } from '../oci/spec.ts';

export type { GuestSysctl };

/** IPC namespace keys besides fs.mqueue.* (runc's list). */
const IPC_KEYS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/**
 * sysctl(8) also accepts `/` as the separator (then a `.` belongs to a name, as in the interface
 * `eno2.100`): the dotted form, with such dots turned into `/`, is what the rules look at.
 */
export function dottedKey(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** The file under /proc/sys: every dot of the dotted form is a directory level, every `/` a literal dot. */
function procPath(dotted: string): string {
  return dotted.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** A path the agent can write without leaving /proc/sys: plain names, no `.`/`..`, no NUL. */
function checkShape(key: string, path: string, value: string): void {
  const parts = path.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..') || /[\0\n]/.test(path)) {
    throw new OptionError(`sysctl ${JSON.stringify(key)}: not a valid sysctl name`);
  }
  if (value.includes('\0')) throw new OptionError(`sysctl ${JSON.stringify(key)}: the value contains a NUL byte`);
}

export interface NamespaceFacts {
  /** Whether a netns path is the host's (the runtime's own), as runc's isHostNetNS. */
  isHostNetns: (path: string) => boolean;
}

/** Checks every `linux.sysctl` entry as runc does and returns them in the spec's order. */
export function guestSysctls(linux: OciLinux | undefined, facts: NamespaceFacts): GuestSysctl[] {
  const raw: Record<string, unknown> = linux?.sysctl ?? {};
  const namespaces = linux?.namespaces ?? [];
  const has = (type: string) => namespaces.some((n) => n.type === type);
  const netns = namespaces.find((n) => n.type === 'network');
  const hostNet = !netns || (netns.path !== undefined && netns.path !== '' && facts.isHostNetns(netns.path));
  const out: GuestSysctl[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw new OptionError(`sysctl ${JSON.stringify(key)}: the value must be a string`);
    const s = dottedKey(key);
    if (IPC_KEYS.has(s) || s.startsWith('fs.mqueue.')) {
      if (!has('ipc')) throw new OptionError(`sysctl ${JSON.stringify(s)} is not allowed in the hosts ipc namespace`);
    } else if (s.startsWith('net.')) {
      if (hostNet) throw new OptionError(`sysctl ${JSON.stringify(s)} not allowed in host network namespace`);
    } else if (has('uts') && s === 'kernel.hostname') {
      throw new OptionError(`sysctl ${JSON.stringify(s)} is not allowed as it conflicts with the OCI "hostname" field`);
    } else if (!(has('uts') && s === 'kernel.domainname')) {
      throw new OptionError(`sysctl ${JSON.stringify(s)} is not in a separate kernel namespace`);
    }
    const path = procPath(s);
    checkShape(key, path, value);
    out.push({ key, path, value });
  }
  return out;
}
