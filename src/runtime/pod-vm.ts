/**
 * One VM per Kubernetes pod (docs/engines.md, "Kubernetes"): the pod sandbox's `create` boots the
 * pod VM, which owns the pod's network namespace like any runcvm container owns its own; each app,
 * init or sidecar container then runs *inside* that VM as a container of the guest agent.
 *
 * - The pod share: `<sandbox bundle>/runcvm-pod/root` is a shared mount point on the host, bound
 *   (rslave) into the sandbox's launcher at /vm/.runcvm-pod, so virtiofsd serves it to the guest
 *   at /.runcvm-pod. An app container's `create` bind-mounts its rootfs (and the CRI's bind mounts
 *   inside it: /etc/hosts, resolv.conf, volumes) at `root/<container id>`; propagation makes it
 *   appear in the running VM. Only this pod's containers are ever mounted there.
 * - The pod socket: `<sandbox bundle>/runcvm-pod/sock` is bound at /run/runcvm-pod in the
 *   launcher, which listens there as on its exec socket (launcher/exec-server.ts), and at
 *   /run/runcvm in each app container of the pod, and nowhere else.
 * - An app container's runc container runs only runcvm-exec (static, from the runtime root): it
 *   asks the pod VM to start the container (START with CONTAINER, docs/agent-protocol.md), relays
 *   its stdio and signals, and exits with its status, so containerd's shim waits on it, restarts
 *   it and reads its logs as for any container.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PodPlacement } from '../agent-protocol/messages.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { resolveInRoot } from '../common/resolve-in-root.ts';
import { OptionError, RuncvmError } from '../contracts/errors.ts';
import {
  EXEC_OOM_ENV,
  POD_LOG_DIR,
  POD_LOG_FILE,
  POD_SOCKET_DIR,
  PREFIX_IN_CONTAINER,
  RUN_DIR,
} from '../contracts/launch-spec.ts';
import { envValue, type OciMount, type OciSpec } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { EXEC_LOST_ENV, execClientProcess } from './exec-client.ts';
import { lookupExecError } from './lookup-exec.ts';
import type { PodRole } from './pod.ts';
import { cpuWeightOfShares } from './pod-update.ts';
import { type RuncState, rootFlags, runcState } from './runc.ts';
import { deviceRules, launcherSeccomp, MASKED_PATHS, READONLY_PATHS } from './sandbox.ts';
import { workloadOf } from './workload.ts';

/** In the sandbox's bundle. */
const SHARE_DIR = 'runcvm-pod';
/** Where the pod share is in the guest (and, under /vm, in the sandbox's launcher). */
export const POD_GUEST_ROOT = '/.runcvm-pod';
/** In an app container's bundle (runcvm/): what exec needs to join it in the pod VM. */
const CONTAINER_MARKER = 'pod-container.json';
/** What the runtime's delete must unmount and remove (the dispatcher starts Node only when one exists). */
export const POD_MARKER_DIR = '/run/runcvm/pod';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** The CRI's mounts the guest makes itself, per container (agent's container.c). */
const GUEST_MADE = ['/proc', '/dev', '/sys'];
/**
 * The host cgroup limit of a limited app container's exec clients: its memory limit is enforced
 * in the guest, and a client (static C) needs a few hundred KiB, at most ~1.2 MiB with a full
 * frame buffer; the container's `kubectl exec` and exec probes run their clients in the same
 * cgroup, so this leaves room for about 25 at once. Small, so that the client can end itself by
 * the host's OOM killer when the guest reports the container OOM-killed, cheaply (EXEC_OOM_ENV).
 */
export const CLIENT_MEMORY_BYTES = 32 * 1024 * 1024;

export interface PodShare {
  dir: string;
  root: string;
  sock: string;
  /** The pod VM launcher's log (launcher/pod-log.ts), for the operator. */
  log: string;
}

/** The share of a running pod VM: its sandbox's pid names the pod's PID namespace. */
export interface RunningShare extends PodShare {
  sandboxPid: number;
}

export function podShare(sandboxBundle: string): PodShare {
  const dir = join(sandboxBundle, SHARE_DIR);
  return { dir, root: join(dir, 'root'), sock: join(dir, 'sock'), log: join(dir, 'log') };
}

function checkId(id: string, what: string): string {
  if (!ID.test(id)) throw new RuncvmError('internal', `${what}: unexpected container id "${id}"`);
  return id;
}

function markerPath(id: string): string {
  return join(POD_MARKER_DIR, checkId(id, 'pod marker'));
}

interface DeleteMarker {
  /** Mount points to detach (with everything below them), in order. */
  unmount: string[];
  /** Then these files and empty dirs, in order (never recursively: a mount may still be below). */
  remove: string[];
}

function writeDeleteMarker(id: string, m: DeleteMarker): void {
  mkdirSync(POD_MARKER_DIR, { recursive: true, mode: 0o700 });
  writeFileAtomic(markerPath(id), JSON.stringify(m), 0o600);
}

function mount(args: string[], what: string): void {
  try {
    execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? '').trim();
    throw new RuncvmError('internal', `${what}: mount ${args.join(' ')}: ${stderr || (e as Error).message}`);
  }
}

/** /proc/self/mountinfo mount points (field 5, octal escapes decoded). */
function mountPoints(): Set<string> {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return new Set(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) =>
        (l.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))),
      ),
  );
}

/** Detaches every mount stacked at `target` (MNT_DETACH takes the mounts below it along). */
function detach(target: string): void {
  for (let i = 0; i < 16 && mountPoints().has(target); i++) {
    try {
      execFileSync('umount', ['-l', target], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new RuncvmError('internal', `unmount ${target}`, { cause: e });
    }
  }
}

/** Where an app container's tree is assembled before it enters the pod share (createPodContainer). */
const STAGE_DIR = '/run/runcvm/stage';

/** A private mount of its own: on a host whose / is shared, what is staged would propagate everywhere. */
function makeStageDir(): void {
  mkdirSync(STAGE_DIR, { recursive: true, mode: 0o700 });
  // Two creates racing may stack two binds: both private, so either is as good.
  if (!mountPoints().has(STAGE_DIR)) mount(['--bind', STAGE_DIR, STAGE_DIR], 'pod staging dir');
  mount(['--make-private', STAGE_DIR], 'pod staging dir');
}

/**
 * Sandbox `create` (pods = "vm"), computed without touching anything: `guest` is added to the
 * spec before the rewrite (it reaches the guest as a bind at /.runcvm-pod), `launcher` to the
 * rewritten spec (the pod socket's dir). makeSandboxShare then creates what they name.
 */
export function sandboxMounts(bundle: string): { share: PodShare; guest: OciMount; launcher: OciMount[] } {
  const share = podShare(bundle);
  return {
    share,
    guest: {
      destination: POD_GUEST_ROOT,
      type: 'bind',
      source: share.root,
      options: ['rbind', 'rslave', 'nosuid', 'nodev'],
    },
    launcher: [
      {
        destination: POD_SOCKET_DIR,
        type: 'bind',
        source: share.sock,
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
      },
      {
        destination: POD_LOG_DIR,
        type: 'bind',
        source: share.log,
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
      },
    ],
  };
}

export function makeSandboxShare(containerId: string, share: PodShare): void {
  checkId(containerId, 'pod sandbox');
  writeDeleteMarker(containerId, {
    unmount: [share.root],
    remove: [
      join(share.sock, 'exec.sock'),
      share.sock,
      join(share.log, POD_LOG_FILE),
      share.log,
      share.root,
      share.dir,
    ],
  });
  mkdirSync(share.root, { recursive: true, mode: 0o700 });
  mkdirSync(share.sock, { recursive: true, mode: 0o700 });
  mkdirSync(share.log, { recursive: true, mode: 0o700 });
  // Its own shared peer group: what an app container's create mounts below it propagates into
  // the launcher's copy (rslave), and nothing the launcher does comes back.
  if (!mountPoints().has(share.root)) mount(['--bind', share.root, share.root], `pod share of ${containerId}`);
  mount(['--make-shared', share.root], `pod share of ${containerId}`);
}

/** What exec needs of an app container in a pod VM (its bundle's runcvm/pod-container.json). */
export interface PodContainerMarker {
  /** Its name in the guest (the container id). */
  name: string;
  /** Its rootfs on the host, for exec's command lookup. */
  rootfs: string;
  /** The pod socket's dir on the host, for update (absent: created by an older runcvm). */
  sock?: string;
}

export function readPodContainerMarker(bundle: string): PodContainerMarker | undefined {
  const file = join(bundle, 'runcvm', CONTAINER_MARKER);
  if (!existsSync(file)) return undefined;
  const m = JSON.parse(readFileSync(file, 'utf8')) as Partial<PodContainerMarker>;
  if (
    typeof m.name !== 'string' ||
    typeof m.rootfs !== 'string' ||
    !ID.test(m.name) ||
    (m.sock !== undefined && typeof m.sock !== 'string')
  )
    throw new RuncvmError('internal', `${file}: malformed`);
  return { name: m.name, rootfs: m.rootfs, ...(m.sock !== undefined ? { sock: m.sock } : {}) };
}

/** The sandbox's pod share when the sandbox is a pod VM, else undefined (a runc sandbox). */
export function sandboxShare(
  runc: string,
  args: RuntimeArgs,
  role: PodRole & { kind: 'container' },
): RunningShare | undefined {
  if (!role.sandboxId) return undefined;
  checkId(role.sandboxId, 'sandbox');
  let state: RuncState;
  try {
    state = runcState(runc, rootFlags(args.root), role.sandboxId);
  } catch {
    return undefined;
  }
  const bundle = state.bundle;
  const share = podShare(bundle);
  return mountPoints().has(share.root) ? { ...share, sandboxPid: state.pid } : undefined;
}

/** A bind of the CRI's (kubelet's) into the container's root on the host, before the guest sees it. */
interface HostBind {
  source: string;
  /** Resolved inside the container's rootfs, no symlink left. */
  inRoot: string;
  readonly: boolean;
}

export function hostBinds(spec: OciSpec): HostBind[] {
  const out: HostBind[] = [];
  for (const m of spec.mounts ?? []) {
    if (GUEST_MADE.some((d) => m.destination === d || m.destination.startsWith(`${d}/`))) continue;
    const bind = m.type === 'bind' || (m.options ?? []).includes('bind') || (m.options ?? []).includes('rbind');
    if (!bind || !m.source)
      throw new OptionError(
        `mount ${m.destination} (type ${m.type ?? 'none'}): a pod VM's containers take only bind mounts besides /proc, /dev and /sys (set the host setting "pods" to "per-container" for such pods)`,
      );
    const inRoot = resolveInRoot(spec.root.path, m.destination);
    if (inRoot === '/') throw new OptionError(`mount ${m.destination}: cannot cover the container's root`);
    out.push({ source: m.source, inRoot, readonly: (m.options ?? []).includes('ro') });
  }
  return out;
}

/**
 * The CPU limit of a container (the kubelet's resources.limits.cpu as CFS quota and period),
 * applied as cpu.max of its guest cgroup. Bounds are the kernel's: period 1 ms to 1 s, quota at
 * least 1 ms.
 */
export function cpuMaxOf(spec: OciSpec): { quotaUs: number; periodUs: number } | undefined {
  const cpu = spec.linux?.resources?.cpu;
  const quota = cpu?.quota;
  if (quota === undefined || quota <= 0) return undefined;
  const period = cpu?.period ?? 100_000;
  if (!Number.isInteger(period) || period < 1000 || period > 1_000_000)
    throw new OptionError(`linux.resources.cpu.period ${period}: allowed 1000 to 1000000 microseconds`);
  if (!Number.isInteger(quota) || quota < 1000 || quota > 2 ** 40)
    throw new OptionError(`linux.resources.cpu.quota ${quota}: allowed 1000 microseconds or more (or none)`);
  return { quotaUs: quota, periodUs: period };
}

/** Creates the mount point of a bind as runc would: a dir for a dir, an empty file otherwise. */
function mountPoint(target: string, sourceIsDir: boolean): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(target);
  } catch {
    st = undefined;
  }
  if (st?.isSymbolicLink()) throw new OptionError(`${target}: mount point is a symlink`);
  if (st) return;
  mkdirSync(sourceIsDir ? target : dirname(target), { recursive: true, mode: 0o755 });
  if (!sourceIsDir) writeFileSync(target, '', { flag: 'a', mode: 0o644 });
}

/**
 * App container `create` in a pod VM: mounts its root into the pod share and rewrites its
 * config.json so that its runc container runs the exec client, which starts it in the VM.
 * Every check happens before the first mount; a failed mount undoes the ones before it.
 */
export function createPodContainer(
  spec: OciSpec,
  args: RuntimeArgs,
  share: RunningShare,
  prefix: string,
  configPath: string,
  /** A container joining a Docker container's VM (join.ts): what its client says when that VM goes. */
  lost?: string,
): void {
  const id = checkId(args.containerId, 'pod container');
  // The CRI names the sandbox's PID namespace for shareProcessNamespace (mode POD), another
  // container's for an ephemeral container's target (TARGET), and none for hostPID (NODE).
  const pidNs = spec.linux?.namespaces?.find((n) => n.type === 'pid');
  if (!pidNs) throw new OptionError("hostPID: a pod VM has no access to the host's PID namespace (unset hostPID)");
  const sharePid = pidNs.path !== undefined && pidNs.path !== '';
  if (sharePid && pidNs.path !== `/proc/${share.sandboxPid}/ns/pid`)
    throw new OptionError(
      `PID namespace ${pidNs.path}: only the pod's own (shareProcessNamespace) or a new one can be given to a container of a pod VM (ephemeral containers targeting another container are not supported)`,
    );
  const p = spec.process;
  if (!Array.isArray(p.args) || p.args.length === 0) throw new OptionError('process.args missing or empty');
  const binds = hostBinds(spec);
  const w = workloadOf(p);
  const err = lookupExecError(
    spec.root.path,
    w.args[0] as string,
    envValue(w.env, 'PATH'),
    w.cwd,
    binds.map((b) => b.inRoot),
  );
  if (err) throw new OptionError(`unable to start container process: ${err}`);
  const limit = spec.linux?.resources?.memory?.limit;
  const cpuMax = cpuMaxOf(spec);
  const cpuWeight = cpuWeightOfShares(spec.linux?.resources?.cpu?.shares);
  const placement: PodPlacement = {
    kind: 'container',
    name: id,
    ...(spec.hostname ? { hostname: spec.hostname } : {}),
    ...(limit && limit > 0 ? { memoryMaxBytes: limit } : {}),
    ...(cpuMax ? { cpuMax } : {}),
    ...(cpuWeight ? { cpuWeight } : {}),
    ...(sharePid ? { sharePid } : {}),
  };
  const target = join(share.root, id);
  const stage = join(STAGE_DIR, id);
  writeDeleteMarker(id, { unmount: [stage, target], remove: [stage, target] });
  try {
    // Built in a private staging dir, then bound into the share in one go: a remount (read-only)
    // never propagates, so a tree assembled in the share would reach the VM's launcher writable.
    makeStageDir();
    mkdirSync(stage, { mode: 0o700 });
    mkdirSync(target, { recursive: true, mode: 0o755 });
    mount(['--rbind', spec.root.path, stage], `root of ${id}`);
    // Docker's overlay sits in a shared mount: the bind is its peer, and what is mounted or
    // unmounted below it would propagate back to Docker's view of the container's root.
    mount(['--make-rprivate', stage], `root of ${id}`);
    for (const b of binds) {
      const dst = join(stage, b.inRoot);
      mountPoint(dst, statSync(b.source).isDirectory());
      mount(['--rbind', b.source, dst], `mount ${b.inRoot} of ${id}`);
      if (b.readonly) mount(['-o', 'remount,bind,ro', dst], `read-only mount ${b.inRoot} of ${id}`);
    }
    // Last, as runc does: the mount points above are made in the root while it is still writable.
    if (spec.root.readonly) mount(['-o', 'remount,bind,ro', stage], `read-only root of ${id}`);
    mount(['--rbind', stage, target], `root of ${id} into the pod share`);
    detach(stage);
    rmdirSync(stage);
  } catch (e) {
    deletePodMounts(id);
    throw e;
  }
  const specDir = join(args.bundle, 'runcvm');
  mkdirSync(specDir, { recursive: true, mode: 0o700 });
  const marker: PodContainerMarker = { name: id, rootfs: spec.root.path, sock: share.sock };
  writeFileAtomic(join(specDir, CONTAINER_MARKER), JSON.stringify(marker), 0o600);
  writeFileAtomic(configPath, JSON.stringify(clientSpec(spec, share, prefix, placement, lost)), 0o600);
}

/**
 * The app container's runc container: runcvm's read-only runtime root, the exec client, the pod
 * socket, no capabilities, no devices, runcvm's seccomp profile. It keeps the pod's network
 * namespace and the container's cgroup (the kubelet's accounting and limits stay where they were;
 * the limits that matter are applied in the guest).
 */
export function clientSpec(
  spec: OciSpec,
  share: PodShare,
  prefix: string,
  placement: PodPlacement,
  lost?: string,
): OciSpec {
  const ro = ['rbind', 'ro', 'nosuid', 'nodev', 'rprivate'];
  const linux = { ...(spec.linux ?? {}) };
  linux.devices = [];
  linux.resources = { ...(linux.resources ?? {}), devices: deviceRules([]) };
  const limit = placement.kind === 'container' ? placement.memoryMaxBytes : undefined;
  const hostLimit = limit ? Math.min(limit, CLIENT_MEMORY_BYTES) : undefined;
  if (hostLimit) {
    const { reservation, ...memory } = linux.resources.memory ?? {};
    linux.resources.memory = {
      ...memory,
      ...(reservation !== undefined && reservation <= hostLimit ? { reservation } : {}),
      limit: hostLimit,
      swap: hostLimit,
    };
  }
  linux.seccomp = launcherSeccomp();
  linux.maskedPaths = MASKED_PATHS;
  linux.readonlyPaths = READONLY_PATHS;
  // Only the pod's network namespace is joined (the socket needs none, but containerd expects
  // the container in the pod's netns); PID, IPC, UTS and mount are the client's own.
  linux.namespaces = [
    ...(spec.linux?.namespaces ?? []).filter((n) => n.type === 'network'),
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ];
  delete linux.sysctl;
  return {
    ...spec,
    root: { path: join(prefix, 'rt'), readonly: true },
    process: {
      ...execClientProcess(spec.process, placement, [
        ...(hostLimit ? [`${EXEC_OOM_ENV}=${hostLimit}`] : []),
        ...(lost ? [`${EXEC_LOST_ENV}=${lost}`] : []),
      ]),
      noNewPrivileges: true,
    },
    hostname: undefined,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      // A terminal for `tty: true` and `kubectl exec -t`: runc opens the console at /dev/ptmx, which
      // it links to this instance's (the client relays it to a pty in the guest).
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      { destination: PREFIX_IN_CONTAINER, type: 'bind', source: prefix, options: ro },
      { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', 'size=1m'] },
      {
        destination: RUN_DIR,
        type: 'bind',
        source: share.sock,
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
      },
    ],
    linux,
    annotations: { ...(spec.annotations ?? {}), 'org.runcvm.pod-container': '1' },
  };
}

/** The START payload of an exec into an app container of a pod VM. */
export function joinPlacement(marker: PodContainerMarker): PodPlacement {
  return { kind: 'join', name: marker.name };
}

/**
 * Undoes what create mounted for a container or a pod (the runtime's delete, after runc's; and a
 * failed create). Never removes recursively: only files and dirs it made, once unmounted.
 */
export function deletePodMounts(id: string): void {
  let m: DeleteMarker;
  try {
    m = JSON.parse(readFileSync(markerPath(id), 'utf8')) as DeleteMarker;
  } catch {
    return;
  }
  if (!Array.isArray(m.unmount) || !Array.isArray(m.remove))
    throw new RuncvmError('internal', `${markerPath(id)}: malformed`);
  for (const t of m.unmount) detach(t);
  const mounted = mountPoints();
  for (const f of m.remove) {
    if (mounted.has(f)) continue;
    try {
      const st = lstatSync(f);
      if (st.isDirectory()) rmdirSync(f);
      else rmSync(f);
    } catch {
      // Already gone, or not empty (then something else is below: leave it rather than delete through it).
    }
  }
  rmSync(markerPath(id), { force: true });
}

/** True when the runtime's delete has pod mounts to undo for this container. */
export function hasPodMounts(id: string): boolean {
  return ID.test(id) && existsSync(markerPath(id));
}
