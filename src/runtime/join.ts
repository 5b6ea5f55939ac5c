/**
 * `docker run --network container:X` where X is a runcvm container (docs/networking.md, "Joining
 * a runcvm container"): the joiner runs *inside X's VM* as a container of the guest agent, exactly
 * as an app container of a Kubernetes pod runs in its pod VM (pod-vm.ts, whose mechanism this
 * reuses whole), so it shares X's guest network namespace, loopback included.
 *
 * - X's side, at X's create (QEMU, virtiofs root, either data plane): `/run/runcvm/join/<X>/root` is
 *   bound (rslave) over the image's /proc in X's launcher (/vm/proc), so virtiofsd serves it to
 *   the guest at /proc, where every /proc mount of the guest hides it from X's own processes (no
 *   file is added to X's image, unlike a new mount point would be); `/run/runcvm/join/<X>/sock` is
 *   bound at the pod socket dir, so X's data plane (runcvm-supervisor, or the Node launcher)
 *   serves the pod socket. /run/runcvm/join is one
 *   shared mount for the whole host (made once), so a joiner's root mounted below it later
 *   propagates into X's running launcher, and no per-container host mount needs undoing at X's
 *   delete (the dispatcher removes the empty dirs).
 * - The joiner's side: Docker gives it X's network namespace by path (/proc/<X's pid>/ns/net);
 *   `runc list` of the same state root names X (the runcvm containers of one runtime share one),
 *   and the joiner becomes a pod container of X's "pod" (createPodContainer).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError, RuncvmError } from '../contracts/errors.ts';
import { POD_SOCKET_DIR, WORKLOAD_ROOT } from '../contracts/launch-spec.ts';
import type { OciMount, OciSpec } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import type { PodShare, RunningShare } from './pod-vm.ts';
import { REWRITTEN_ANNOTATION } from './rewrite.ts';
import { type RuncListEntry, rootFlags, runcList } from './runc.ts';

/** One shared mount for every joinable container of the host. */
export const JOIN_BASE = '/run/runcvm/join';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** A config.json of a container in the same state root: ours, but bounded all the same. */
const MAX_CONFIG_BYTES = 4 << 20;

/** What a joiner needs of X: X's id (for messages), its pid and its share. */
export interface JoinTarget {
  id: string;
  pid: number;
  share: RunningShare;
}

export function joinShare(id: string): PodShare {
  if (!ID.test(id)) throw new RuncvmError('internal', `join share: unexpected container id "${id}"`);
  const dir = join(JOIN_BASE, id);
  return { dir, root: join(dir, 'root'), sock: join(dir, 'sock'), log: join(dir, 'log') };
}

/**
 * X's launcher: the share over the image's /proc (the guest sees it there, under every /proc
 * mount), and the socket dir, whose presence makes the launcher serve the pod socket.
 */
export function joinableMounts(share: PodShare): OciMount[] {
  return [
    {
      destination: `${WORKLOAD_ROOT}/proc`,
      type: 'bind',
      source: share.root,
      options: ['rbind', 'rslave', 'nosuid', 'nodev'],
    },
    {
      destination: POD_SOCKET_DIR,
      type: 'bind',
      source: share.sock,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    },
  ];
}

/**
 * runc resolves a mount destination through symlinks (inside the launcher's root): an image
 * whose /proc is a link (or a file) would have the share mounted over whatever it points to, so
 * such a container is not joinable. A missing /proc is made by runc as a directory.
 */
export function imageProcIsJoinable(rootPath: string): boolean {
  try {
    return lstatSync(join(rootPath, 'proc')).isDirectory();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Whether /run/runcvm/join is already a shared mount (mountinfo field 5 = mount point, then "shared:N"). */
function baseIsShared(): boolean {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[4] !== JOIN_BASE) continue;
    const sep = f.indexOf('-');
    if (f.slice(6, sep).some((o) => o.startsWith('shared:'))) return true;
  }
  return false;
}

/**
 * Makes X's share dirs, and the base a shared mount once per boot. Under flock: two creates that
 * both bound the base would stack two mounts, and a launcher bound below the top one would never
 * see a joiner's root.
 */
export function makeJoinShare(share: PodShare): void {
  mkdirSync(JOIN_BASE, { recursive: true, mode: 0o700 });
  if (!baseIsShared()) {
    const script = `mountpoint -q ${JOIN_BASE} || mount --bind ${JOIN_BASE} ${JOIN_BASE}; mount --make-shared ${JOIN_BASE}`;
    try {
      execFileSync('flock', [`${JOIN_BASE}.lock`, 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
      throw new RuncvmError('internal', `making ${JOIN_BASE} a shared mount: ${stderr || (e as Error).message}`);
    }
  }
  // sock/ first: a share without it is one whose container was deleted (pruneJoinShares).
  mkdirSync(share.sock, { recursive: true, mode: 0o700 });
  mkdirSync(share.root, { recursive: true, mode: 0o700 });
}

/**
 * The dispatcher removes a deleted container's share dirs at its delete, except root/ while a
 * joiner's root is still mounted there; the joiner's delete, once it unmounted that root, removes
 * what is left of shares whose sock/ is gone. Never recursive: only empty dirs.
 */
export function pruneJoinShares(): void {
  let ids: string[];
  try {
    ids = readdirSync(JOIN_BASE);
  } catch {
    return;
  }
  for (const id of ids.filter((i) => ID.test(i))) {
    const share = joinShare(id);
    if (existsSync(share.sock)) continue;
    for (const d of [share.root, share.dir]) {
      try {
        rmdirSync(d);
      } catch {
        // Not empty (another joiner's root is still there) or already gone.
      }
    }
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function isRuncvmBundle(bundle: string): boolean {
  try {
    const file = join(bundle, 'config.json');
    if (statSync(file).size > MAX_CONFIG_BYTES) return false;
    const spec = JSON.parse(readFileSync(file, 'utf8')) as { annotations?: Record<string, string> };
    return spec.annotations?.[REWRITTEN_ANNOTATION] === '1';
  } catch {
    return false;
  }
}

type NsType = 'network' | 'pid' | 'ipc';
const PROC_NS: Record<NsType, string> = { network: 'net', pid: 'pid', ipc: 'ipc' };

/** The namespace path Docker gave for `type` when it is another process's (--net/--pid/--ipc container:X). */
function procNsPath(spec: OciSpec, type: NsType): string | undefined {
  const path = spec.linux?.namespaces?.find((n) => n.type === type)?.path;
  return path && new RegExp(`^/proc/\\d+/ns/${PROC_NS[type]}$`).test(path) ? path : undefined;
}

/** The running runcvm container (a VM's launcher, not a pod or joined container) that owns the namespace at `path`. */
function runcvmOwner(path: string, type: NsType, list: readonly RuncListEntry[], self: string) {
  const want = statOrUndefined(path);
  if (!want) return undefined;
  return list.find((c) => {
    if (c.status !== 'running' || !(c.pid > 0) || c.id === self) return false;
    const st = statOrUndefined(`/proc/${c.pid}/ns/${PROC_NS[type]}`);
    return st !== undefined && st.ino === want.ino && st.dev === want.dev && isRuncvmBundle(c.bundle);
  });
}

const short = (id: string) => id.slice(0, 12);

/**
 * The runcvm container whose VM this container joins (--network container:X with X a running
 * runcvm container of this runtime), or undefined: X is not one (a runc container, another
 * runtime's), and the container gets a VM of its own in that namespace as before. Refuses a
 * runcvm X whose VM cannot take containers, and --pid/--ipc container:X of a runcvm X without
 * --network container:X (the launcher's namespaces are private: they would be silently ignored).
 */
export function joinTarget(
  spec: OciSpec,
  args: RuntimeArgs,
  runc: string,
  list: () => RuncListEntry[] = () => runcList(runc, rootFlags(args.root)),
): JoinTarget | undefined {
  const paths = (['network', 'pid', 'ipc'] as const).map((t) => [t, procNsPath(spec, t)] as const);
  if (paths.every(([, p]) => p === undefined)) return undefined;
  const containers = list();
  const net = procNsPath(spec, 'network');
  const x = net ? runcvmOwner(net, 'network', containers, args.containerId) : undefined;
  if (!x) {
    for (const [type, path] of paths.slice(1)) {
      const owner = path ? runcvmOwner(path, type, containers, args.containerId) : undefined;
      if (owner) {
        const opt = type === 'pid' ? '--pid' : '--ipc';
        throw new OptionError(
          `${opt} container:${short(owner.id)}: ${short(owner.id)} is a runcvm container, whose processes run in its VM; only a container that joins that VM with --network container:${short(owner.id)} can share its namespaces`,
        );
      }
    }
    return undefined;
  }
  const share = joinShare(x.id);
  if (!existsSync(share.sock) || !existsSync(share.root))
    throw new OptionError(
      `--network container:${short(x.id)}: ${short(x.id)} is a runcvm container whose VM cannot take other containers (it runs on Firecracker, with RUNCVM_ROOTFS=image, or was started by an older runcvm); restart it without those options, or run this container with the runc runtime`,
    );
  const target = { id: x.id, pid: x.pid, share: { ...share, sandboxPid: x.pid } };
  checkJoinNamespaces(spec, target);
  return target;
}

/** Not under /dev, /proc or /sys, which the guest makes for each container itself. */
const GUEST_MADE = /^\/(dev|proc|sys)(\/|$)/;

/**
 * What a joiner can share with X, said in Docker's words before pod-vm.ts's checks: X's PID
 * namespace (--pid container:X) or its own; X's IPC namespace is the VM's, so --ipc container:X
 * (which also means X's /dev/shm, per container in the guest) and --ipc host are refused.
 */
export function checkJoinNamespaces(spec: OciSpec, target: Pick<JoinTarget, 'id' | 'pid'>): void {
  const x = short(target.id);
  const inVm = `a container that runs in runcvm container ${x}'s VM (--network container:${x})`;
  const ns = (type: string) => spec.linux?.namespaces?.find((n) => n.type === type);
  const pid = ns('pid');
  if (!pid) throw new OptionError(`--pid host: ${inVm} cannot share the host's PID namespace`);
  if (pid.path && pid.path !== `/proc/${target.pid}/ns/pid`)
    throw new OptionError(
      `--pid ${pid.path}: ${inVm} can share only ${x}'s PID namespace (--pid container:${x}) or have its own`,
    );
  const ipc = ns('ipc');
  if (!ipc) throw new OptionError(`--ipc host: ${inVm} cannot share the host's IPC namespace`);
  if (ipc.path)
    throw new OptionError(
      `--ipc container: not supported for ${inVm}: the VM has one IPC namespace (its System V objects are visible to every container in it) but each container has its own /dev/shm; leave --ipc unset`,
    );
  for (const m of spec.mounts ?? []) {
    if (m.type === 'tmpfs' && !GUEST_MADE.test(m.destination))
      throw new OptionError(`--tmpfs ${m.destination}: not supported for ${inVm} (use a volume)`);
  }
}

/** What the joiner's client says when X's VM goes away under it. */
export function lostMessage(target: Pick<JoinTarget, 'id'>): string {
  const x = short(target.id);
  return `container ${x} stopped: this container ran in its VM (--network container:${x}) and ended with it`;
}
