/**
 * Drives the real docker CLI for end-to-end tests: no fakes of Docker, QEMU or the kernel.
 * Each call has its own timeout because a TCG boot on a loaded 2-core host can take 10x longer.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PREFIX_IN_CONTAINER } from '../../src/contracts/launch-spec.ts';

export const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';
export const BUSYBOX = 'runcvm-test/busybox';
export const DEBIAN = 'runcvm-test/debian';
export const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
/** RUNCVM_E2E_HYPERVISOR=firecracker runs the suite's VMs on another backend (docs/firecracker.md). */
export const E2E_HYPERVISOR = process.env.RUNCVM_E2E_HYPERVISOR ?? '';
/** RUNCVM_E2E_KERNEL=runcvm or debian runs the suite's VMs on that guest kernel (unset: the runtime's default, DEFAULT_KERNEL). */
export const E2E_KERNEL = process.env.RUNCVM_E2E_KERNEL ?? '';

/** `-e RUNCVM_HYPERVISOR=…` when the suite runs on another backend; for tests that call `docker run` themselves. */
export function hypervisorArgs(): string[] {
  const env = (name: string, value: string | undefined) => (value ? ['-e', `${name}=${value}`] : []);
  // RUNCVM_E2E_ROOTFS / RUNCVM_E2E_VOLUMES force the image root and the 9P volume path (docs/storage.md).
  return [
    ...env('RUNCVM_HYPERVISOR', E2E_HYPERVISOR),
    ...env('RUNCVM_KERNEL', E2E_KERNEL),
    ...env('RUNCVM_ROOTFS', process.env.RUNCVM_E2E_ROOTFS),
    ...env('RUNCVM_VOLUMES', process.env.RUNCVM_E2E_VOLUMES),
    // RUNCVM_E2E_DATA_PLANE=node runs the suite with the Node launcher resident (the default is the C supervisor).
    ...env('RUNCVM_DATA_PLANE', process.env.RUNCVM_E2E_DATA_PLANE),
  ];
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${opts.timeoutMs ?? 180_000} ms`));
    }, opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? 9 : 0),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
    // A command that never reads stdin may exit first: EPIPE here is not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export function docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<Result> {
  return run('docker', args, opts);
}

/** `docker run --rm --runtime=runcvm ARGS…` */
export function runVm(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<Result> {
  return docker(['run', '--rm', `--runtime=${RUNTIME}`, ...hypervisorArgs(), ...args], opts);
}

export function runRunc(args: string[], opts?: { input?: string | Buffer }): Promise<Result> {
  return docker(['run', '--rm', '--runtime=runc', ...args], opts);
}

export function hostConfig(): { kvm: { usable: boolean }; allowTcg: boolean; runc: string } {
  return JSON.parse(readFileSync(`${PREFIX}/etc/host.json`, 'utf8'));
}

/** Docker container id a host process belongs to, from its cgroup path (v1 or v2). */
function containerOf(pid: string): string | undefined {
  try {
    return /docker[/-]([0-9a-f]{64})/.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Whether a process is not one this run could have left: gone since ps listed it, or of another
 * runcvm install than the one under test (its container sees that install's prefix at
 * PREFIX_IN_CONTAINER, a bind of the host prefix, which is not PREFIX's directory). On a host
 * shared with other installs, their pod containers (under a private containerd, outside
 * Docker's cgroups) are theirs, not this run's leftovers.
 */
function notOurs(pid: string): boolean {
  try {
    const theirs = statSync(`/proc/${pid}/root${PREFIX_IN_CONTAINER}`);
    const ours = statSync(PREFIX);
    return theirs.dev !== ours.dev || theirs.ino !== ours.ino;
  } catch {
    // Not in a runcvm container (counted as before), or gone since ps listed it: a container
    // that stopped between ps and docker ps, whose process the kernel was killing then.
    return !existsSync(`/proc/${pid}`);
  }
}

/** State, parent and container of a process, for the message of a leak check. */
function describeProcess(pid: string): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '?';
    return `[state ${field('State')}, ppid ${field('PPid')}, container ${containerOf(pid)?.slice(0, 12) ?? 'none'}]`;
  } catch {
    return '[gone]';
  }
}

/** One look: the candidate processes, by pid. */
async function leftoverCandidates(): Promise<Map<string, string>> {
  const r = await run('ps', ['-eo', 'pid=,args=']);
  const running = new Set((await docker(['ps', '-q', '--no-trunc'])).stdout.split('\n').filter(Boolean));
  // diod: a RUNCVM_VOLUMES=9p container's volume server (src/volumes/server.ts).
  const out = new Map<string, string>();
  for (const l of r.stdout.split('\n')) {
    if (!/runcvm\.mjs launcher|\/run\/runcvm\/|diod -f -n -N -L stderr -l 169\.254\./.test(l)) continue;
    const pid = l.trim().split(/\s+/)[0] as string;
    const id = containerOf(pid);
    if ((!id || !running.has(id)) && !notOurs(pid)) out.set(pid, l);
  }
  return out;
}

/**
 * Launchers, qemu/virtiofsd using a container run dir, and volume servers, whose container is not running any
 * more. Processes of containers still running (another test's) and of other installs are not leftovers, nor is
 * one that is gone a second later (a container of another test or install being torn down as ps looked).
 */
export async function leftovers(): Promise<string[]> {
  const first = await leftoverCandidates();
  if (first.size === 0) return [];
  await sleep(1000);
  const second = await leftoverCandidates();
  return [...first.keys()].filter((pid) => second.has(pid)).map((pid) => `${first.get(pid)} ${describeProcess(pid)}`);
}

export function uniqueName(tag: string): string {
  return `runcvm-e2e-${tag}-${process.pid}-${Date.now().toString(36)}`;
}

export async function inspect(name: string, format: string): Promise<string> {
  return (await docker(['inspect', '-f', format, name])).stdout.trim();
}

/** Polls `probe` until it returns a value: VMs boot and servers start at TCG speed here. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
