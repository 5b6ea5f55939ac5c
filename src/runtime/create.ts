/**
 * `runcvm-runtime create`: validate the RUNCVM_* options and the host, rewrite the bundle so the
 * container's PID 1 is the launcher, then hand the same argv to runc. Every check happens before
 * anything is written, so a refused container leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { resolveInRoot } from '../common/resolve-in-root.ts';
import { describeError, RuncvmError } from '../contracts/errors.ts';
import type { Accel, Hypervisor } from '../contracts/kinds.ts';
import {
  type ImageRootSpec,
  LAUNCH_SPEC_VERSION,
  type LaunchSpec,
  PREFIX_IN_CONTAINER,
  vmmBinaryInContainer,
} from '../contracts/launch-spec.ts';
import type { StartVm, VmStartInputs } from '../contracts/vm-start.ts';
import { envValue, type OciSpec, parseOciSpec } from '../oci/spec.ts';
import { ImageCache } from '../rootfs/cache.ts';
import { buildImageRoot, type ImageRootFiles, type ImageRootPlan, planImageRoot } from '../rootfs/image-root.ts';
import { chooseAccel, kvmUsable } from '../vmm/accel.ts';
import type { HostCheck, HostReady } from '../vmm/driver.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import { planNinepAtCreate, writeSkeleton } from '../volumes/at-create.ts';
import type { SkeletonEntry } from '../volumes/plan.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { openContainerLog, pruneContainerLogs } from './container-log.ts';
import { containerOptions } from './container-options.ts';
import { type DataPlaneChoice, dataPlaneFor } from './data-plane.ts';
import { diskSerial } from './disks.ts';
import { isSwarmTask } from './engine-store.ts';
import { type HostConfig, readHostConfig } from './host-config.ts';
import { type HostSettings, hostSettingsPath, readHostSettings } from './host-settings.ts';
import { imageProcIsJoinable, joinableMounts, joinShare, joinTarget, lostMessage, makeJoinShare } from './join.ts';
import { lookupExecError } from './lookup-exec.ts';
import { OptionError } from './options.ts';
import { podRole } from './pod.ts';
import { createPodContainer, makeSandboxShare, sandboxMounts, sandboxShare } from './pod-vm.ts';
import { containerResolvConf } from './resolv-conf.ts';
import { type HostDevice, isRewritten, rewriteSpec } from './rewrite.ts';
import { rootFlags, runcState, runRunc } from './runc.ts';
import { guestSysctls } from './sysctl.ts';
import { vmSize } from './vm-size.ts';
import { writeWritebackMarker } from './writeback.ts';

const VMM_DEVICES = ['/dev/kvm', '/dev/net/tun', '/dev/vhost-net'];

function hostDevices(kvm: boolean): HostDevice[] {
  return VMM_DEVICES.filter((p) => (p !== '/dev/kvm' || kvm) && existsSync(p)).map((path) => {
    const rdev = statSync(path).rdev;
    return { path, major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
  });
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
    throw new OptionError(
      `RUNCVM_KERNEL: no kernel "${name}" under ${root} (available: ${available || 'none, reinstall runcvm'})`,
    );
  }
  return { dir, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio') };
}

/**
 * What `planCreate` reads from the host, each a check or a read that writes nothing (tests pass
 * their own, so a plan is computed from its inputs alone).
 */
export interface CreateProbes {
  /** /dev/kvm exists and opens. */
  kvmUsable: () => boolean;
  /** The backend's own host check (vmm/driver.ts): its binaries, and KVM where it needs it. */
  checkHost: (hypervisor: Hypervisor, check: HostCheck) => HostReady | void;
  /** RUNCVM_ROOTFS=image: the image's layers and where its drives will be (rootfs/image-root.ts). */
  planImageRoot: () => ImageRootPlan;
}

/** Everything `create` decided; computing it writes, builds and prunes nothing. */
export interface CreatePlan {
  /** spec.json, complete but for `rootImage`, which needs the built drives (withImageRoot). */
  launch: LaunchSpec;
  config: OciSpec;
  specDir: string;
  accel: Accel;
  /** RUNCVM_ROOTFS=image: the drives to build once nothing can refuse the container. */
  image?: ImageRootPlan;
  /** RUNCVM_VOLUMES=9p with an image root: the root comes back over 9P with these options. */
  rootHost9pOptions?: string;
  writeback?: { bundle: string; drivesDir: string };
  skeleton?: { dir: string; entries: SkeletonEntry[] };
  /** Other containers can run in this one's VM (docker run --network container:X, join.ts). */
  joinable: boolean;
  /** Who runs the data plane after boot (data-plane.ts). */
  dataPlane: DataPlaneChoice;
}

/**
 * Validates the container and computes everything `create` will write. Every check that can
 * refuse the container is here; `create` acts (builds the image root, writes the bundle, runs
 * runc) only on its result, so a refused container leaves nothing behind.
 */
export function planCreate(
  spec: OciSpec,
  args: RuntimeArgs,
  prefix: string,
  host: HostConfig & { settings: HostSettings },
  now: number,
  probes: CreateProbes,
  /** A CRI pod sandbox: its VM runs the pod's containers (pod-vm.ts). */
  podSandbox = false,
): CreatePlan {
  const opts = containerOptions(spec, args.containerId, hostSettingsPath(prefix));
  const size = vmSize(spec.linux?.resources);
  const dataPlane = dataPlaneFor({
    requested: opts.dataPlane,
    hypervisor: opts.hypervisor,
    volumes: opts.volumes,
    podSandbox,
    disks: opts.disks.length,
    hostCpus: (size.hostCpus?.length ?? 0) > 0,
  });
  // Checked against the namespaces Docker asked for (the rewrite makes the launcher's private), and
  // like every check here, before anything is written (create builds the image root only after planCreate).
  const sysctls = guestSysctls(spec.linux, { isHostNetns });
  const disks = opts.disks.map((d, i) => ({ ...d, serial: diskSerial(i) }));
  const kvm = probes.kvmUsable();
  const accel = chooseAccel(opts.accel, { devKvm: kvm, probe: host.kvm, hostAllowsTcg: host.allowTcg });
  const kernel = kernelFiles(prefix, opts.kernel);
  const ready = probes.checkHost(opts.hypervisor, {
    kvm,
    accel,
    rootfs: opts.rootfs,
    kernel: kernel.vmlinux,
    initrd: kernel.initramfs,
    firecracker: host.settings.firecracker,
    jailer: host.settings.jailer,
  });
  // The launcher refuses it too (volumes/server.ts); said here, `docker run` shows why at once.
  if (opts.volumes === '9p' && !host.iptables) {
    throw new OptionError(
      'RUNCVM_VOLUMES=9p: no iptables was found on this host when runcvm was installed, so the volume server cannot be firewalled to its link (install iptables and rerun runcvm install, or use RUNCVM_VOLUMES=virtiofs)',
    );
  }
  const specDir = join(args.bundle, 'runcvm');
  const image = opts.rootfs === 'image' ? probes.planImageRoot() : undefined;
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
    coverageDir: host.coverageDir,
    supervisor: dataPlane.plane === 'supervisor',
    thpOff: accel === 'tcg',
  });
  const vmmBinary = ready?.vmmBinary ? vmmBinaryInContainer(opts.hypervisor) : undefined;
  if (ready?.vmmBinary && vmmBinary) {
    // The launcher sees only host /usr: a VMM found elsewhere (the host setting "firecracker") is bound in.
    rewritten.spec.mounts?.push({
      destination: vmmBinary,
      type: 'bind',
      source: ready.vmmBinary,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
  }
  const p = rewritten.process;
  const mountDests = rewritten.mounts.map((m) => m.destination);
  const execError = lookupExecError(spec.root.path, p.args[0] as string, envValue(p.env, 'PATH'), p.cwd, mountDests);
  if (execError) throw new OptionError(`unable to start container process: ${execError}`);
  const inContainer = (f: string) => f.replace(prefix, PREFIX_IN_CONTAINER);
  let mounts = withShm(rewritten.mounts, rewritten.shmSizeBytes);
  const ninep =
    opts.volumes === '9p'
      ? planNinepAtCreate({
          containerId: args.containerId,
          network,
          mounts,
          specDir,
          rootExport: image && spec.root.path,
        })
      : undefined;
  if (ninep) {
    mounts = ninep.mounts;
    rewritten.spec.mounts = [...(rewritten.spec.mounts ?? []), ...ninep.ociMounts];
  }
  const launch: LaunchSpec = {
    version: LAUNCH_SPEC_VERSION,
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
    mounts,
    sysctls,
    ...(ninep ? { volumes: ninep.server } : {}),
    disks,
    ...(vmmBinary ? { vmmBinary } : {}),
    hostPrefix: prefix,
    process: p,
    // performance.timeOrigin: when this Node process started, so the benchmark can tell Node's
    // own start from the work before it (docs/performance.md, "Start path").
    timing: { createNodeMs: Math.round(performance.timeOrigin), createStartMs: now, createEndMs: 0 },
    printTiming: opts.timing,
    ...(network === 'own' && isSwarmTask(spec.root.path, args.containerId) ? { swarmTask: true } : {}),
  };
  // A killed container's changes are written back at delete (writeback.ts); none with --read-only.
  const writeback = image && !rewritten.rootReadonly ? { bundle: args.bundle, drivesDir: image.dir } : undefined;
  return {
    launch,
    config: rewritten.spec,
    specDir,
    accel,
    ...(image ? { image } : {}),
    ...(ninep?.rootOptions ? { rootHost9pOptions: ninep.rootOptions } : {}),
    ...(writeback ? { writeback } : {}),
    ...(ninep ? { skeleton: { dir: ninep.skeletonDir, entries: ninep.skeleton } } : {}),
    // A joiner's root reaches the guest through the virtiofs root and its client through the pod
    // socket (served by the supervisor or the Node launcher): no virtiofs root with an image root
    // or on Firecracker.
    joinable: opts.hypervisor === 'qemu' && !image && imageProcIsJoinable(spec.root.path),
    dataPlane,
  };
}

/** spec.json with the image root's drives as they were built. */
export function withImageRoot(plan: CreatePlan, files: ImageRootFiles | undefined): LaunchSpec {
  if (!files) return plan.launch;
  const rootImage: ImageRootSpec = {
    mode: 'image',
    lowers: files.lowers,
    upper: files.upper,
    ...(plan.rootHost9pOptions ? { host9pOptions: plan.rootHost9pOptions } : {}),
  };
  return { ...plan.launch, rootImage };
}

/** The probes of a real create: /dev/kvm, and the image's overlay as Docker mounted it. */
function hostProbes(spec: OciSpec, args: RuntimeArgs, cache: ImageCache): CreateProbes {
  return {
    kvmUsable,
    checkHost: (hypervisor, check) => DRIVERS[hypervisor].checkHost(check),
    planImageRoot: () => {
      try {
        return planImageRoot({ rootPath: spec.root.path, containerId: args.containerId, cache });
      } catch (e) {
        throw imageRootError(e, args);
      }
    },
  };
}

function imageRootError(cause: unknown, args: RuntimeArgs): OptionError {
  return new OptionError('RUNCVM_ROOTFS=image', {
    cause,
    context: { containerId: args.containerId, step: 'image root' },
  });
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
  let a: Stats;
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

export function create(
  args: RuntimeArgs,
  argv: string[],
  prefix: string,
  log: (level: 'warning' | 'error', msg: string) => void,
  /** Ids of the runcvm VMs running on the host, whose logs are never pruned (install/running-vms.ts). */
  runningIds: () => Set<string> = () => new Set(),
  /** The launcher's pre-VM step for a VM runcvm-supervisor starts (launcher/vm-start.ts, passed by the CLI). */
  startVm?: StartVm,
): number {
  const start = Date.now();
  const configPath = join(args.bundle, 'config.json');
  const host = { ...readHostConfig(prefix), settings: readHostSettings(prefix) };
  const spec = parseOciSpec(readFileSync(configPath, 'utf8'), configPath);
  // Docker passes an absolute overlay path; containerd and Podman pass "rootfs", relative to the bundle.
  spec.root.path = resolve(args.bundle, spec.root.path);
  const role = isRewritten(spec) ? ({ kind: 'plain' } as const) : podRole(spec);
  const podVm = host.settings.pods === 'vm';
  // docker run --network container:X with a runcvm X: a container in X's VM (join.ts).
  const joined = role.kind === 'plain' && !isRewritten(spec) ? joinTarget(spec, args, host.runc) : undefined;
  if (joined) {
    createPodContainer(spec, args, joined.share, prefix, configPath, lostMessage(joined));
    return runRunc(host.runc, argv);
  }
  // An app container of a pod VM runs in that VM (pod-vm.ts); a sandbox of a runc pod stays runc.
  if (role.kind === 'container' && podVm) {
    const share = sandboxShare(host.runc, args, role);
    if (share) {
      createPodContainer(spec, args, share, prefix, configPath);
      return runRunc(host.runc, argv);
    }
  }
  if (!isRewritten(spec) && !(role.kind === 'sandbox' && !podVm)) {
    // The pod sandbox (pause) is the pod VM: it gets the pod share and the pod socket.
    const pod = role.kind === 'sandbox' ? sandboxMounts(args.bundle) : undefined;
    if (pod) {
      spec.mounts = [...(spec.mounts ?? []), pod.guest];
      // The CRI makes pause's root read-only; the pod VM's guest needs to create its mount
      // points (/proc, /sys, /dev, /.runcvm-pod) there, which pause images (FROM scratch) lack.
      spec.root.readonly = false;
    }
    const cache = new ImageCache();
    const plan = planCreate(spec, args, prefix, host, start, hostProbes(spec, args, cache), pod !== undefined);
    if (pod) {
      plan.config.mounts = [...(plan.config.mounts ?? []), ...pod.launcher];
      makeSandboxShare(args.containerId, pod.share);
    }
    // Nothing refuses the container past this point: build, write, run.
    const warn = (m: string) => log('warning', `container ${args.containerId}: ${m}`);
    const hostLog = openContainerLog(args.containerId, plan.config, warn);
    const l = plan.launch;
    hostLog?.line(
      'runtime',
      `create: ${l.hypervisor} (${l.accel}), ${l.cpus} vCPU(s), ${l.memoryMiB} MiB, kernel ${l.kernel.vmlinux.split('/').at(-2)}, root ${plan.image ? 'image' : 'virtiofs'}, data plane ${plan.dataPlane.plane}${plan.dataPlane.keptNode ? ` (${plan.dataPlane.keptNode})` : ''}${vmStartNote(plan.dataPlane)}`,
    );
    if (plan.accel === 'tcg') warn('no usable /dev/kvm, the VM runs under TCG software emulation (slow)');
    let files: ImageRootFiles | undefined;
    if (plan.image) {
      const t0 = Date.now();
      try {
        files = buildImageRoot(plan.image, cache, host.settings.cacheMaxBytes);
      } catch (e) {
        hostLog?.line('runtime', `image root failed: ${describeError(e)}`);
        hostLog?.close();
        throw imageRootError(e, args);
      }
      const key = files.cacheKey.slice(0, 12);
      hostLog?.line(
        'runtime',
        files.cacheBuilt
          ? `image cache: built ${key} (cold) in ${((Date.now() - t0) / 1000).toFixed(1)} s: runcvm cache build IMAGE makes the next first start fast`
          : `image cache: ${key} found (warm), drives ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    hostLog?.close();
    pruneContainerLogs(Date.now(), runningIds);
    const launch = { ...withImageRoot(plan, files), ...(pod ? { portForward: true } : {}) };
    mkdirSync(plan.specDir, { recursive: true, mode: 0o700 });
    if (plan.skeleton) writeSkeleton(plan.skeleton.dir, plan.skeleton.entries);
    launch.timing.createEndMs = Date.now();
    writeFileAtomic(join(plan.specDir, 'spec.json'), JSON.stringify(launch), 0o600);
    // Other containers may join this one's VM (join.ts). Never a reason to refuse it: without the
    // share it runs as before, and a joiner is refused with a message.
    let podSocket = pod !== undefined;
    if (role.kind === 'plain' && plan.joinable) {
      const share = joinShare(args.containerId);
      try {
        makeJoinShare(share);
        plan.config.mounts = [...(plan.config.mounts ?? []), ...joinableMounts(share)];
        podSocket = true;
      } catch (e) {
        warn(`other containers cannot join this one's VM (--network container:): ${describeError(e)}`);
      }
    }
    writeFileAtomic(configPath, JSON.stringify(plan.config), 0o600);
    if (plan.writeback) writeWritebackMarker(args.containerId, plan.writeback);
    if (plan.dataPlane.vmStart === 'supervisor') {
      if (!startVm) throw new RuncvmError('internal', 'create: no VM start step for a supervisor-started VM');
      const code = runRunc(host.runc, argv);
      if (code !== 0) return code;
      startWithoutLauncher(args, host.runc, startVm, () => ({
        containerId: args.containerId,
        launch,
        pid: sandboxPid(args, host.runc),
        launcherArgs: plan.config.process?.args ?? [],
        podSocket,
        resolvConf: containerResolvConf(spec),
      }));
      return 0;
    }
  }
  return runRunc(host.runc, argv);
}

/** The host log's note on who starts the VM (data-plane.ts). */
function vmStartNote(c: DataPlaneChoice): string {
  if (c.vmStart === 'supervisor') return ', VM started by runcvm-supervisor';
  return c.keptLauncher ? `, VM started by the Node launcher (${c.keptLauncher})` : '';
}

/** The sandbox's init: runc's pid file (containerd and Podman pass one), else `runc state`. */
function sandboxPid(args: RuntimeArgs, runc: string): number {
  if (args.pidFile) {
    // Relative to the cwd, as runc resolves it (containerd and Podman pass an absolute path).
    const pid = Number(readFileSync(resolve(args.pidFile), 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1) return pid;
  }
  return runcState(runc, rootFlags(args.root), args.containerId).pid;
}

/**
 * After `runc create`: the network handoff and the start plan (vm-start.ts). A failure removes
 * the sandbox runc made too (the plan and taps are already undone), so nothing half-created stays.
 */
function startWithoutLauncher(args: RuntimeArgs, runc: string, startVm: StartVm, inputs: () => VmStartInputs): void {
  try {
    startVm(inputs());
  } catch (e) {
    const r = spawnSync(runc, [...args.globalArgv, 'delete', '--force', args.containerId], {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new RuncvmError(
        'internal',
        `${describeError(e)}; runc delete --force: ${r.stderr?.trim() || r.error?.message}`,
        {
          context: { containerId: args.containerId, step: 'start plan' },
        },
      );
    throw e;
  }
}
