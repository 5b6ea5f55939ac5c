/**
 * The config.json rewrite at `create` (a pure function): the container's PID 1 becomes the
 * launcher running from runcvm's read-only runtime root, the image's rootfs moves to /vm, and
 * the workload as Docker described it is returned separately for the launcher.
 * Research: rootlab §2 (field-by-field edits that were tried end to end, and F1–F10).
 */
import type { OciDevice, OciDeviceCgroup, OciMount, OciSpec } from '../oci/spec.ts';
import {
  type GuestMount,
  type WorkloadProcess,
  IMAGE_DISKS_DIR,
  MS_NODEV,
  MS_NOEXEC,
  MS_NOSUID,
  MS_RDONLY,
  PREFIX_IN_CONTAINER,
  SPEC_DIR,
  WORKLOAD_ROOT,
} from '../launcher/launch-spec.ts';
import { withVmmOverhead } from './vm-size.ts';
import { workloadOf } from './workload.ts';

export const REWRITTEN_ANNOTATION = 'org.runcvm.rewritten';

/** Docker's own mounts that stay with the launcher (the guest makes its own). */
const LAUNCHER_MOUNTS = new Set(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);

/** Docker's 14 default capabilities plus NET_ADMIN for the tap/bridge network handoff. */
export const LAUNCHER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE', 'CAP_NET_ADMIN',
];

/**
 * Syscalls virtiofsd needs that Docker's profile only grants with capabilities the user may
 * have dropped (rootlab F2, F5): the launcher's needs must not depend on the user's flags.
 */
const LAUNCHER_SYSCALLS = ['unshare', 'chroot'];

export interface HostDevice {
  path: string;
  major: number;
  minor: number;
}

export interface RewriteContext {
  /** Host path of the read-only runtime root (<prefix>/rt). */
  runtimeRoot: string;
  /** Host path of the install prefix, bound at PREFIX_IN_CONTAINER. */
  prefix: string;
  /** Host dir holding spec.json, bound read-only at SPEC_DIR. */
  specDir: string;
  nodePath: string;
  /** Devices the VMM needs that exist on this host (kvm, tun, vhost-net). */
  devices: HostDevice[];
  /** Top-level host dirs that are real directories on this host (non merged-/usr). */
  hostDirs: string[];
  /** Resolves a destination inside the image without leaving it (resolve-in-root.ts). */
  resolve: (destination: string) => string;
  /** RUNCVM_ROOTFS=image: the per-container drive dir and the cached base image (host paths). */
  imageRoot?: { dir: string; baseFile: string };
}

export interface RewriteResult {
  spec: OciSpec;
  process: WorkloadProcess;
  mounts: GuestMount[];
  rootReadonly: boolean;
  shmSizeBytes?: number;
}

export function isRewritten(spec: OciSpec): boolean {
  return spec.annotations?.[REWRITTEN_ANNOTATION] === '1';
}

export function mountFlags(options: readonly string[] | undefined): number {
  let flags = 0;
  for (const o of options ?? []) {
    if (o === 'ro') flags |= MS_RDONLY;
    else if (o === 'rw') flags &= ~MS_RDONLY;
    else if (o === 'nosuid') flags |= MS_NOSUID;
    else if (o === 'nodev') flags |= MS_NODEV;
    else if (o === 'noexec') flags |= MS_NOEXEC;
  }
  return flags;
}

/** tmpfs data options (size=, mode=, uid=, gid=, nr_inodes=) the guest passes to mount(2). */
function tmpfsData(options: readonly string[] | undefined): string {
  return (options ?? []).filter((o) => /^(size|mode|uid|gid|nr_inodes)=/.test(o)).join(',');
}

function sizeOption(options: readonly string[] | undefined): number | undefined {
  const s = (options ?? []).find((o) => o.startsWith('size='));
  return s === undefined ? undefined : Number.parseInt(s.slice(5), 10);
}

function splitMounts(spec: OciSpec, ctx: RewriteContext) {
  const launcher: OciMount[] = [];
  const relocated: OciMount[] = [];
  const guest: GuestMount[] = [];
  let shmSizeBytes: number | undefined;
  for (const m of spec.mounts ?? []) {
    if (LAUNCHER_MOUNTS.has(m.destination)) {
      launcher.push(m);
      if (m.destination === '/dev/shm') shmSizeBytes = sizeOption(m.options);
    } else if (m.type === 'tmpfs') {
      guest.push({ kind: 'tmpfs', destination: m.destination, flags: mountFlags(m.options), data: tmpfsData(m.options) });
    } else {
      const inImage = ctx.resolve(m.destination);
      relocated.push({ ...m, destination: `${WORKLOAD_ROOT}${inImage === '/' ? '' : inImage}` });
      guest.push({ kind: 'bind', destination: inImage, flags: mountFlags(m.options), source: m.source });
    }
  }
  return { launcher, relocated, guest, shmSizeBytes };
}

function runtimeMounts(spec: OciSpec, ctx: RewriteContext): OciMount[] {
  const ro = ['rbind', 'ro', 'nosuid', 'nodev', 'rprivate'];
  return [
    { destination: '/usr', type: 'bind', source: '/usr', options: ro },
    ...ctx.hostDirs.map((d) => ({ destination: `/${d}`, type: 'bind', source: `/${d}`, options: ro })),
    { destination: '/etc/ld.so.cache', type: 'bind', source: '/etc/ld.so.cache', options: ro },
    { destination: PREFIX_IN_CONTAINER, type: 'bind', source: ctx.prefix, options: ro },
    { destination: SPEC_DIR, type: 'bind', source: ctx.specDir, options: [...ro, 'noexec'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=16m'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=64m'] },
    // rw for the launcher even with --read-only: the guest enforces the workload's view.
    { destination: WORKLOAD_ROOT, type: 'bind', source: spec.root.path, options: ['rbind', 'rprivate'] },
    ...imageRootMounts(ctx),
  ];
}

function imageRootMounts(ctx: RewriteContext): OciMount[] {
  if (!ctx.imageRoot) return [];
  return [
    { destination: IMAGE_DISKS_DIR, type: 'bind', source: ctx.imageRoot.dir, options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'] },
    // Shared by every container of the image: never writable from one of them.
    { destination: `${IMAGE_DISKS_DIR}/base.ext4`, type: 'bind', source: ctx.imageRoot.baseFile, options: ['bind', 'ro', 'rprivate', 'nosuid', 'nodev', 'noexec'] },
  ];
}

function addDevices(spec: OciSpec, devices: HostDevice[]): OciSpec['linux'] {
  const linux = { ...(spec.linux ?? {}) };
  // Under --privileged Docker lists every host device: those belong to the guest, not the launcher.
  const nodes: OciDevice[] = devices.map((d) => ({
    type: 'c', path: d.path, major: d.major, minor: d.minor, fileMode: 0o660, uid: 0, gid: 0,
  }));
  const rules: OciDeviceCgroup[] = devices.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' }));
  linux.devices = nodes;
  const resources = withVmmOverhead(linux.resources) ?? {};
  linux.resources = { ...resources, devices: [...(resources.devices ?? []), ...rules] };
  if (linux.seccomp) {
    linux.seccomp = {
      ...linux.seccomp,
      syscalls: [...(linux.seccomp.syscalls ?? []), { names: LAUNCHER_SYSCALLS, action: 'SCMP_ACT_ALLOW' }],
    };
  }
  return linux;
}

export function rewriteSpec(spec: OciSpec, ctx: RewriteContext): RewriteResult {
  const p = spec.process;
  const process = workloadOf(p);
  const { launcher, relocated, guest, shmSizeBytes } = splitMounts(spec, ctx);
  const caps = [...LAUNCHER_CAPS];
  const out: OciSpec = {
    ...spec,
    root: { path: ctx.runtimeRoot, readonly: true },
    process: {
      ...p,
      // runcvm-init is PID 1 so that every signal, real-time ones included, reaches the launcher
      // (src/launcher/init); Node's own warnings would land on the workload's stderr.
      args: [`${PREFIX_IN_CONTAINER}/bin/runcvm-init`, ctx.nodePath, '--no-warnings', `${PREFIX_IN_CONTAINER}/lib/runcvm.mjs`, 'launcher'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/run'],
      // runc would mkdir a missing cwd inside the shared runtime root on the host (rootlab F10).
      cwd: '/',
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
    },
    mounts: [...launcher, ...runtimeMounts(spec, ctx), ...relocated],
    linux: addDevices(spec, ctx.devices),
    annotations: { ...(spec.annotations ?? {}), [REWRITTEN_ANNOTATION]: '1' },
  };
  return { spec: out, process, mounts: guest, rootReadonly: spec.root.readonly === true, shmSizeBytes };
}
