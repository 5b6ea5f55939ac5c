/**
 * A private containerd for the engine tests: its own root, state, socket and config under a temp
 * dir, never Docker's containerd nor /etc/containerd. Its CRI plugin knows runcvm as a runtime
 * handler (runc shim + BinaryName, as a Kubernetes RuntimeClass selects it); pods get a CNI
 * bridge network inside containerd's own network namespace.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { configureContainerd, SHIM_BINARY } from '../../src/install/containerd.ts';
import { BUSYBOX, docker, PREFIX, type Result, run } from './docker.ts';

export const RUNTIME_BINARY = `${PREFIX}/bin/runcvm-runtime`;
/** A pause-like image built locally (no registry here): sleeps until SIGTERM. */
export const PAUSE_IMAGE = 'docker.io/runcvm-test/pause:latest';
export const BUSYBOX_REF = `docker.io/${BUSYBOX}:latest`;

export interface Containerd {
  dir: string;
  address: string;
  /** containerd's pid: its network namespace is the node's, where the CNI bridge and pod IPs are. */
  pid: number;
  ctr(args: string[], opts?: { timeoutMs?: number; ns?: string }): Promise<Result>;
  stop(): Promise<void>;
}

/** The [plugins.cri] part is what docs/engines.md tells users to add (deploy/containerd/config.toml). */
export function containerdConfig(dir: string, handlers: Record<string, string>): string {
  const runtimes = Object.entries(handlers)
    .map(
      ([name, binary]) => `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${name}.options]
      BinaryName = "${binary}"
`,
    )
    .join('');
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${dir}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  stream_server_port = "0"
  # runc cannot lower oom_score_adj here (no CAP_SYS_RESOURCE in this machine's bounding set).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
${runtimes}`;
}

async function ensurePauseImage(): Promise<void> {
  const have = await docker(['image', 'inspect', 'runcvm-test/pause']);
  if (have.code === 0) return;
  const dockerfile = `FROM ${BUSYBOX}\nSTOPSIGNAL SIGTERM\nENTRYPOINT ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done"]\n`;
  const r = await docker(['build', '-q', '-t', 'runcvm-test/pause', '-'], { input: dockerfile });
  if (r.code !== 0) throw new Error(`building runcvm-test/pause: ${r.stderr}`);
}

/**
 * HANDLERS are extra runc-shim runtime handlers; the `runcvm` one is added by the same code as
 * `runcvm install --containerd-config` (configureContainerd), unless `runcvm` is false.
 */
export async function startContainerd(
  tag: string,
  handlers: Record<string, string> = {},
  runcvm = true,
): Promise<Containerd> {
  // /var/lib is on the same filesystem as Docker's overlay2, so the overlayfs snapshotter works.
  const dir = `/var/lib/runcvm-e2e-containerd-${tag}-${process.pid}`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(`${dir}/cni`, { recursive: true });
  // containerd runs in a network namespace of its own (unshare --net): the CNI bridge plugin's
  // bridge and veths live there, so the host's interfaces and iptables are never touched.
  const cni = {
    cniVersion: '0.4.0',
    name: 'runcvm-e2e',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni-e2e0',
        isGateway: true,
        ipMasq: false,
        ipam: {
          type: 'host-local',
          dataDir: `${dir}/cni-ipam`,
          ranges: [[{ subnet: '10.203.0.0/24' }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
  writeFileSync(`${dir}/cni/10-bridge.conflist`, JSON.stringify(cni));
  writeFileSync(`${dir}/config.toml`, containerdConfig(dir, handlers));
  if (runcvm) configureContainerd(`${dir}/config.toml`, `${PREFIX}/bin/${SHIM_BINARY}`);
  const address = `${dir}/containerd.sock`;
  const log = openSync(`${dir}/containerd.log`, 'a');
  // lo up: containerd's CRI streaming server (Exec, Attach, PortForward URLs) listens on its 127.0.0.1.
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--net',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      'containerd',
      '--config',
      `${dir}/config.toml`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', log, log], detached: false },
  );
  const ctr = (args: string[], opts: { timeoutMs?: number; ns?: string } = {}) =>
    run('ctr', ['--address', address, '--namespace', opts.ns ?? 'runcvm-e2e', ...args], { timeoutMs: opts.timeoutMs });
  for (let i = 0; i < 100 && !existsSync(address); i++) await sleep(100);
  if (!existsSync(address)) throw new Error(`containerd did not start: see ${dir}/containerd.log`);
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    // Shims outlive containerd by design; the tests remove their containers, so none should be left.
    await run('umount', ['-R', `${dir}/root`]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ensurePauseImage();
    for (const ns of ['runcvm-e2e', 'k8s.io']) {
      for (const image of ['runcvm-test/busybox', 'runcvm-test/pause']) {
        const tar = `${dir}/${image.replace('/', '_')}.tar`;
        const s = await docker(['save', '-o', tar, image]);
        if (s.code !== 0) throw new Error(`docker save ${image}: ${s.stderr}`);
        const r = await ctr(['images', 'import', tar], { ns, timeoutMs: 120_000 });
        if (r.code !== 0) throw new Error(`ctr images import ${image}: ${r.stderr}`);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, address, pid: child.pid as number, ctr, stop };
}
