/**
 * The config.json rewrite at `create` (a pure function): the container's PID 1 becomes the
 * launcher running from runcvm's read-only runtime root, the image's rootfs moves to /vm, and
 * the workload as Docker described it is returned separately for the launcher. Every field it
 * changes, and why, is in docs/architecture.md ("create: the config.json rewrite").
 */

import { type GuestMount, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../contracts/guest-mount.ts';
import type { NetworkMode } from '../contracts/kinds.ts';
import { IMAGE_DISKS_DIR, PREFIX_IN_CONTAINER, SPEC_DIR, WORKLOAD_ROOT } from '../contracts/launch-spec.ts';
import type { WorkloadProcess } from '../contracts/workload-process.ts';
import type { OciMount, OciSpec } from '../oci/spec.ts';
import {
  deviceNodes,
  deviceRules,
  type HostDevice,
  hardenMount,
  launcherCaps,
  launcherSeccomp,
  MASKED_PATHS,
  privateNamespaces,
  READONLY_PATHS,
} from './sandbox.ts';
import { withVmmOverhead } from './vm-size.ts';
import { workloadOf } from './workload.ts';

export const REWRITTEN_ANNOTATION = 'org.runcvm.rewritten';

/** Docker's own mounts that stay with the launcher (the guest makes its own). */
const LAUNCHER_MOUNTS = new Set(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);

export type { HostDevice };

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
  /** The container's network namespace: its own (the launcher reshapes it) or a shared one. */
  network: NetworkMode;
  /** An AppArmor profile to confine the launcher with when Docker gave none (--privileged). */
  apparmorFallback?: string;
  /** Guest mount points besides Docker's mounts (RUNCVM_DISKS destinations), image paths. */
  guestMountPoints?: string[];
  /** Whether a resolved image path exists (lstat, never following a link); default: assume it does. */
  existsInImage?: (path: string) => boolean;
  /** RUNCVM_ROOTFS=image: the per-container drive dir and the cached base image (host paths). */
  imageRoot?: { dir: string; baseFile: string };
  /** The host's coverage dir (HostConfig.coverageDir): bound writable, the launcher writes V8 coverage there. */
  coverageDir?: string;
  /**
   * TCG: runcvm-init turns transparent huge pages off for everything it starts (launcher,
   * virtiofsd, QEMU). QEMU asks for huge pages on its translation cache, so every 2 MiB of it the
   * boot reaches is zeroed whole at once: 2-11 % of QEMU's CPU time to boot (docs/performance.md,
   * "Start path"). Not with KVM, where guest RAM may want huge pages and there is no such cache.
   */
  thpOff?: boolean;
  /** The supervisor data plane (runtime/data-plane.ts): runcvm-supervisor runs the launcher and takes over after boot. */
  supervisor?: boolean;
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
      launcher.push(hardenMount(m));
      if (m.destination === '/dev/shm') shmSizeBytes = sizeOption(m.options);
    } else if (m.type === 'tmpfs') {
      guest.push({
        kind: 'tmpfs',
        destination: m.destination,
        flags: mountFlags(m.options),
        data: tmpfsData(m.options),
      });
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
    // Writable while runc creates the mount points of the volumes under it (as runc does in a
    // --read-only root before its final remount); readOnlyRoot() then makes it read-only.
    { destination: WORKLOAD_ROOT, type: 'bind', source: spec.root.path, options: ['rbind', 'rprivate'] },
    ...imageRootMounts(ctx),
    ...(ctx.coverageDir ? [coverageMount(ctx.coverageDir)] : []),
  ];
}

/** Under /run (a tmpfs of the launcher's), so runc never creates its mount point in the shared runtime root. */
const COVERAGE_IN_CONTAINER = '/run/runcvm-coverage';

function coverageMount(dir: string): OciMount {
  return {
    destination: COVERAGE_IN_CONTAINER,
    type: 'bind',
    source: dir,
    options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec', 'rprivate'],
  };
}

/**
 * --read-only is enforced on the host side: a guest root that remounts its / read-write still
 * meets a read-only mount in virtiofsd. runc 1.1 resolves a bind source in the container's
 * mount namespace before pivot_root, where /vm, with the volumes mounted under it, sits at
 * <runtime root>/vm: binding that onto itself read-only (last, once every mount point exists)
 * makes the root read-only and leaves each volume's own flags as they were.
 */
/**
 * With a read-only root the guest cannot create the mount points of what it mounts itself
 * (tmpfs, disks), as runc creates them before its final remount: a tiny read-only tmpfs at each
 * makes runc create the directory while /vm is still writable; the guest mounts over it.
 */
function mountPointPlaceholders(guest: readonly GuestMount[], ctx: RewriteContext): OciMount[] {
  const points = [
    ...guest.filter((m) => m.kind === 'tmpfs').map((m) => m.destination),
    ...(ctx.guestMountPoints ?? []),
  ];
  // Only where the directory is missing: over an existing one the placeholder would hide the
  // content a new RUNCVM_DISKS disk is filled from.
  const missing = (d: string) => d !== '/' && ctx.existsInImage !== undefined && !ctx.existsInImage(d);
  return [...new Set(points.map((d) => ctx.resolve(d)))].filter(missing).map((d) => ({
    destination: `${WORKLOAD_ROOT}${d}`,
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['ro', 'nosuid', 'nodev', 'noexec', 'size=4k', 'mode=755'],
  }));
}

function readOnlyRoot(ctx: RewriteContext): OciMount {
  return {
    destination: WORKLOAD_ROOT,
    type: 'bind',
    source: `${ctx.runtimeRoot}${WORKLOAD_ROOT}`,
    options: ['rbind', 'ro', 'rprivate', 'nosuid', 'nodev'],
  };
}

function imageRootMounts(ctx: RewriteContext): OciMount[] {
  if (!ctx.imageRoot) return [];
  return [
    {
      destination: IMAGE_DISKS_DIR,
      type: 'bind',
      source: ctx.imageRoot.dir,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    },
    // Shared by every container of the image: never writable from one of them.
    {
      destination: `${IMAGE_DISKS_DIR}/base.ext4`,
      type: 'bind',
      source: ctx.imageRoot.baseFile,
      options: ['bind', 'ro', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    },
  ];
}

/** The launcher's sandbox (sandbox.ts) in place of what Docker derived from the user's flags. */
function sandboxLinux(spec: OciSpec, ctx: RewriteContext): OciSpec['linux'] {
  const linux = { ...(spec.linux ?? {}) };
  // Under --privileged Docker lists every host device: those belong to the guest, not the launcher.
  linux.devices = deviceNodes(ctx.devices);
  const resources = withVmmOverhead(linux.resources) ?? {};
  linux.resources = { ...resources, devices: deviceRules(ctx.devices) };
  linux.seccomp = launcherSeccomp();
  linux.maskedPaths = MASKED_PATHS;
  linux.readonlyPaths = READONLY_PATHS;
  linux.namespaces = privateNamespaces(spec.linux);
  // The workload's sysctls are the guest's (sysctl.ts); in the launcher's namespaces they would only
  // change the sandbox that serves the VM (and IPC keys would meet a namespace runcvm made private).
  delete linux.sysctl;
  return linux;
}

/** Docker says "unconfined" under --privileged or apparmor=unconfined: the launcher stays confined. */
function apparmor(profile: string | undefined, fallback: string | undefined): string | undefined {
  return profile && profile !== 'unconfined' ? profile : fallback;
}

export function rewriteSpec(spec: OciSpec, ctx: RewriteContext): RewriteResult {
  const p = spec.process;
  const process = workloadOf(p);
  const { launcher, relocated, guest, shmSizeBytes } = splitMounts(spec, ctx);
  const caps = launcherCaps(ctx.network);
  const out: OciSpec = {
    ...spec,
    root: { path: ctx.runtimeRoot, readonly: true },
    process: {
      ...p,
      // runcvm-init is PID 1 so that every signal, real-time ones included, reaches the launcher
      // (src/launcher/init); on the supervisor data plane, runcvm-supervisor starts the VM from create's start plan
      // (or runs the Node launcher for the start, data-plane.ts) and then the container's data plane itself
      // (src/launcher/supervisor); the launcher's command line stays, for net-sync and `runcvm ps`; Node's own warnings would
      // land on the workload's stderr. The young generation is capped (1 MiB semi-spaces instead of
      // up to 16): output the launcher holds while a slow log reader takes it survives scavenges,
      // and V8 would grow the young generation to ~48 MiB for data that is never more than the
      // flow-control window (the flood e2e saw the launcher grow by 40 MiB on a loaded host).
      args: [
        `${PREFIX_IN_CONTAINER}/bin/runcvm-init`,
        ...(ctx.supervisor ? [`${PREFIX_IN_CONTAINER}/bin/runcvm-supervisor`] : []),
        ctx.nodePath,
        '--no-warnings',
        '--max-semi-space-size=1',
        `${PREFIX_IN_CONTAINER}/lib/runcvm.mjs`,
        'launcher',
      ],
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME=/run',
        ...(ctx.thpOff ? ['RUNCVM_THP_DISABLE=1'] : []),
        ...(ctx.coverageDir ? [`NODE_V8_COVERAGE=${COVERAGE_IN_CONTAINER}`] : []),
      ],
      // runc would mkdir a missing cwd inside the shared runtime root on the host.
      cwd: '/',
      user: { uid: 0, gid: 0 },
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: true,
      apparmorProfile: apparmor(p.apparmorProfile, ctx.apparmorFallback),
    },
    mounts: [
      ...launcher,
      ...runtimeMounts(spec, ctx),
      ...relocated,
      ...(spec.root.readonly === true ? [...mountPointPlaceholders(guest, ctx), readOnlyRoot(ctx)] : []),
    ],
    linux: sandboxLinux(spec, ctx),
    annotations: { ...(spec.annotations ?? {}), [REWRITTEN_ANNOTATION]: '1' },
  };
  return { spec: out, process, mounts: guest, rootReadonly: spec.root.readonly === true, shmSizeBytes };
}
