/**
 * `runcvm-runtime create`: validate the RUNCVM_* options and the host, rewrite the bundle so the
 * container's PID 1 is the launcher, then hand the same argv to runc. Every check happens before
 * anything is written, so a refused container leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { envValue, parseOciSpec, type OciSpec } from '../oci/spec.ts';
import { type LaunchSpec, PREFIX_IN_CONTAINER, vmmBinaryInContainer } from '../launcher/launch-spec.ts';
import { chooseAccel, kvmUsable } from '../vmm/accel.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { readHostConfig, type HostConfig } from './host-config.ts';
import { hostSettingsPath, readHostSettings, type HostSettings } from './host-settings.ts';
import { lookupExecError } from './lookup-exec.ts';
import { diskSerial } from './disks.ts';
import { OptionError, parseOptions, type RuncvmOptions } from './options.ts';
import { ImageCache } from '../rootfs/cache.ts';
import { type ImageRootFiles, prepareImageRoot } from '../rootfs/image-root.ts';
import { podRole } from './pod.ts';
import { resolveInRoot } from './resolve-in-root.ts';
import { guestSysctls } from './sysctl.ts';
import { type HostDevice, isRewritten, rewriteSpec } from './rewrite.ts';
import { vmSize } from './vm-size.ts';
import { writeWritebackMarker } from './writeback.ts';
import { planNinepAtCreate, writeSkeleton } from '../volumes/at-create.ts';

const VMM_DEVICES = ['/dev/kvm', '/dev/net/tun', '/dev/vhost-net'];

function hostDevices(kvm: boolean): HostDevice[] {
  return VMM_DEVICES.filter((p) => (p !== '/dev/kvm' || kvm) && existsSync(p)).map((path) => {
    const rdev = statSync(path).rdev;
    return { path, major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
  });
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.runcvm-tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

function kernelFiles(prefix: string, name: string): { dir: string; vmlinux: string; initramfs: string } {
  const root = join(prefix, 'kernels');
  const dir = join(root, name);
  if (!existsSync(dir)) {
    let available = '';
    try {
      available = readdirSync(root).join(', ');
    } catch {
      // No kernels at all: the message below says so.
    }
    throw new OptionError(`RUNCVM_KERNEL: no kernel "${name}" under ${root} (available: ${available || 'none, reinstall runcvm'})`);
  }
  return { dir, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio') };
}

/** Everything `create` decides, computed without side effects. */
/** Side effects `create` needs once the options are known to be valid (tests pass their own). */
export interface CreateEffects {
  prepareImageRoot: (opts: RuncvmOptions) => ImageRootFiles;
}

export function planCreate(spec: OciSpec, args: RuntimeArgs, prefix: string, host: HostConfig & { settings: HostSettings }, now: number, effects?: CreateEffects) {
  const env = spec.process.env ?? [];
  const opts = parseOptions(env, hostSettingsPath(prefix));
  // Checked against the namespaces Docker asked for (the rewrite makes the launcher's private), and
  // before anything is written: prepareImageRoot below builds drives.
  const sysctls = guestSysctls(spec.linux, { isHostNetns });
  const disks = opts.disks.map((d, i) => ({ ...d, serial: diskSerial(i) }));
  const kvm = kvmUsable();
  const accel = chooseAccel(opts.accel, { devKvm: kvm, probe: host.kvm, hostAllowsTcg: host.allowTcg });
  const kernel = kernelFiles(prefix, opts.kernel);
  const ready = DRIVERS[opts.hypervisor].checkHost({
    kvm, accel, rootfs: opts.rootfs, kernel: kernel.vmlinux, initrd: kernel.initramfs,
    firecracker: host.settings.firecracker, jailer: host.settings.jailer,
  });
  const size = vmSize(spec.linux?.resources);
  // The launcher refuses it too (volumes/server.ts); said here, `docker run` shows why at once.
  if (opts.volumes === '9p' && !host.iptables) {
    throw new OptionError('RUNCVM_VOLUMES=9p: no iptables was found on this host when runcvm was installed, so the volume server cannot be firewalled to its link (install iptables and rerun runcvm install, or use RUNCVM_VOLUMES=virtiofs)');
  }
  const specDir = join(args.bundle, 'runcvm');
  const image = opts.rootfs === 'image' ? effects?.prepareImageRoot(opts) : undefined;
  if (opts.rootfs === 'image' && !image) throw new Error('RUNCVM_ROOTFS=image: no image root was prepared');
  const network = networkMode(spec);
  const rewritten = rewriteSpec(spec, {
    network,
    apparmorFallback: loadedAppArmorProfile('docker-default'),
    runtimeRoot: join(prefix, 'rt'),
    prefix,
    specDir,
    nodePath: host.node,
    devices: hostDevices(accel === 'kvm'),
    hostDirs: host.hostDirs,
    guestMountPoints: disks.map((d) => d.dst),
    existsInImage: (p) => existsNoFollow(join(spec.root.path, p)),
    resolve: (dest) => resolveInRoot(spec.root.path, dest),
    imageRoot: image && { dir: image.dir, baseFile: image.baseFile },
  });
  const vmmBinary = ready?.vmmBinary ? vmmBinaryInContainer(opts.hypervisor) : undefined;
  if (ready?.vmmBinary && vmmBinary) {
    // The launcher sees only host /usr: a VMM found elsewhere (the host setting "firecracker") is bound in.
    rewritten.spec.mounts?.push({ destination: vmmBinary, type: 'bind', source: ready.vmmBinary, options: ['bind', 'ro', 'nosuid', 'nodev'] });
  }
  const p = rewritten.process;
  const mountDests = rewritten.mounts.map((m) => m.destination);
  const execError = lookupExecError(spec.root.path, p.args[0] as string, envValue(p.env, 'PATH'), p.cwd, mountDests);
  if (execError) throw new OptionError(`unable to start container process: ${execError}`);
  const inContainer = (f: string) => f.replace(prefix, PREFIX_IN_CONTAINER);
  let mounts = withShm(rewritten.mounts, rewritten.shmSizeBytes);
  const ninep = opts.volumes === '9p' ? planNinepAtCreate({ containerId: args.containerId, network, mounts, specDir, rootExport: image && spec.root.path }) : undefined;
  if (ninep) {
    mounts = ninep.mounts;
    rewritten.spec.mounts = [...(rewritten.spec.mounts ?? []), ...ninep.ociMounts];
  }
  const launch: LaunchSpec = {
    version: 1,
    containerId: args.containerId,
    hypervisor: opts.hypervisor,
    accel,
    kernel: { vmlinux: inContainer(kernel.vmlinux), initramfs: inContainer(kernel.initramfs) },
    cpus: size.cpus,
    memoryMiB: size.memoryMiB,
    ...(size.hostCpus ? { hostCpus: size.hostCpus } : {}),
    tscKhz: host.tscKhz,
    kernelAppend: opts.kernelAppend,
    kernelDebug: opts.kernelDebug,
    runtimeDebug: opts.runtimeDebug,
    hostname: spec.hostname ?? '',
    rootfs: spec.root.path,
    network,
    iptables: host.iptables,
    rootReadonly: rewritten.rootReadonly,
    rootImage: image && { mode: 'image', lowers: image.lowers, upper: image.upper, ...(ninep?.rootOptions ? { host9pOptions: ninep.rootOptions } : {}) },
    mounts,
    sysctls,
    ...(ninep ? { volumes: ninep.server } : {}),
    disks,
    ...(vmmBinary ? { vmmBinary } : {}),
    process: p,
    timing: { createStartMs: now, createEndMs: 0 },
    printTiming: opts.timing,
  };
  // A killed container's changes are written back at delete (writeback.ts); none with --read-only.
  const writeback = image && !rewritten.rootReadonly ? { bundle: args.bundle, drivesDir: image.dir } : undefined;
  return { launch, config: rewritten.spec, specDir, accel, writeback, skeleton: ninep && { dir: ninep.skeletonDir, entries: ninep.skeleton } };
}

/** runc joins an existing netns when the spec names a path (host, container:X) or has none at all. */
export function networkMode(spec: OciSpec, hostNetns: (path: string) => boolean = isHostNetns): LaunchSpec['network'] {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  if (!ns) return 'shared';
  if (!ns.path) return 'own';
  // A named netns (/run/netns/…: Podman's, or a Kubernetes pod's made by CNI) was created for
  // this container or its pod and may be handed to the VM; /proc/<pid>/ns/net is another
  // running container's (docker --network container:X), and the host's must never be touched.
  if (hostNetns(ns.path) || ns.path.startsWith('/proc/')) return 'shared';
  return 'own';
}

/**
 * The host's netns is PID 1's; where PID 1's is not readable (a sandboxed init), the runtime's
 * own, which containerd runs in the host's. Failing to recognise it would hand the host's
 * interfaces to a VM.
 */
function isHostNetns(path: string): boolean {
  let a;
  try {
    a = statSync(path);
  } catch {
    return false;
  }
  return ['/proc/1/ns/net', '/proc/self/ns/net'].some((p) => {
    try {
      const b = statSync(p);
      return a.ino === b.ino && a.dev === b.dev;
    } catch {
      return false;
    }
  });
}

function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `name` when AppArmor is enabled and dockerd loaded that profile; otherwise none can be applied. */
function loadedAppArmorProfile(name: string): string | undefined {
  try {
    const loaded = readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8');
    return loaded.split('\n').some((l) => l.startsWith(`${name} `)) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The guest makes its own /dev/shm; Docker's --shm-size decides its size. */
function withShm(mounts: LaunchSpec['mounts'], bytes: number | undefined): LaunchSpec['mounts'] {
  if (mounts.some((m) => m.destination === '/dev/shm')) return mounts;
  const size = bytes ? `,size=${Math.floor(bytes / 1024)}k` : '';
  return [{ kind: 'tmpfs', destination: '/dev/shm', flags: 2 | 4 | 8, data: `mode=1777${size}` }, ...mounts];
}

export function create(args: RuntimeArgs, argv: string[], prefix: string, log: (level: 'warning' | 'error', msg: string) => void): number {
  const start = Date.now();
  const configPath = join(args.bundle, 'config.json');
  const host = { ...readHostConfig(prefix), settings: readHostSettings(prefix) };
  const spec = parseOciSpec(readFileSync(configPath, 'utf8'), configPath);
  // Docker passes an absolute overlay path; containerd and Podman pass "rootfs", relative to the bundle.
  spec.root.path = resolve(args.bundle, spec.root.path);
  // A Kubernetes pod sandbox (pause) stays a plain runc container (pod.ts).
  if (!isRewritten(spec) && podRole(spec).kind !== 'sandbox') {
    const plan = planCreate(spec, args, prefix, host, start, {
      prepareImageRoot: () => {
        try {
          return prepareImageRoot({ rootPath: spec.root.path, containerId: args.containerId, cache: new ImageCache(), cacheMax: host.settings.cacheMaxBytes });
        } catch (e) {
          throw new OptionError(`RUNCVM_ROOTFS=image: ${(e as Error).message}`);
        }
      },
    });
    if (plan.accel === 'tcg') log('warning', `container ${args.containerId}: no usable /dev/kvm, the VM runs under TCG software emulation (slow)`);
    mkdirSync(plan.specDir, { recursive: true, mode: 0o700 });
    if (plan.skeleton) writeSkeleton(plan.skeleton.dir, plan.skeleton.entries);
    plan.launch.timing.createEndMs = Date.now();
    writeAtomic(join(plan.specDir, 'spec.json'), JSON.stringify(plan.launch), 0o600);
    writeAtomic(configPath, JSON.stringify(plan.config), 0o600);
    if (plan.writeback) writeWritebackMarker(args.containerId, plan.writeback);
  }
  const r = spawnSync(host.runc, argv, { stdio: 'inherit' });
  if (r.error) throw new Error(`running ${host.runc}: ${r.error.message}`);
  return r.status ?? 128 + 9;
}
