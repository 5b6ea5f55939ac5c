/**
 * Drives the real docker CLI for end-to-end tests: no fakes of Docker, QEMU or the kernel.
 * Each call has its own timeout because a TCG boot on a loaded 2-core host can take 10x longer.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
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
 * Whether a container process is of the install under test: every runcvm container sees its install's prefix at
 * PREFIX_IN_CONTAINER (a bind of the host prefix), so that path and PREFIX are the same directory. Undefined when it
 * cannot be told (virtiofsd sandboxes itself in a root of its own; a process gone meanwhile).
 */
function ofThisInstall(pid: string): boolean | undefined {
  try {
    const theirs = statSync(`/proc/${pid}/root${PREFIX_IN_CONTAINER}`);
    const ours = statSync(PREFIX);
    return theirs.dev === ours.dev && theirs.ino === ours.ino;
  } catch {
    return undefined;
  }
}

function cgroupOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return '';
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

/**
 * One look: launchers, qemu/virtiofsd using a container run dir, and volume servers of a Docker container that is
 * gone or stopped, by pid. Processes of containers still live (another test's), of another engine (Podman, CRI) and
 * of another install (a second runtime name) are not this suite's: a process counts unless it, or a process sharing
 * its cgroup, is known to belong to another install.
 */
async function leftoverCandidates(): Promise<Map<string, string>> {
  const r = await run('ps', ['-eo', 'pid=,args=']);
  // "created" too: a container still starting (another test's `docker run`) has its VM booting before Docker
  // calls it running.
  const live = ['created', 'running', 'restarting', 'paused'].flatMap((s) => ['--filter', `status=${s}`]);
  const running = new Set((await docker(['ps', '-aq', '--no-trunc', ...live])).stdout.split('\n').filter(Boolean));
  // diod: a RUNCVM_VOLUMES=9p container's volume server (src/volumes/server.ts).
  const candidates = r.stdout
    .split('\n')
    .filter((l) => /runcvm\.mjs launcher|\/run\/runcvm\/|diod -f -n -N -L stderr -l 169\.254\./.test(l))
    .map((line) => {
      const pid = line.trim().split(/\s+/)[0] as string;
      return { line, pid, ours: ofThisInstall(pid), cgroup: cgroupOf(pid) };
    });
  const foreign = new Set(candidates.filter((c) => c.ours === false).map((c) => c.cgroup));
  const out = new Map<string, string>();
  for (const c of candidates) {
    if (c.ours === false || (c.ours === undefined && c.cgroup !== '' && foreign.has(c.cgroup))) continue;
    // Only Docker's containers: a process of another engine (a Podman or CRI container) is not this suite's.
    const id = containerOf(c.pid);
    if (id !== undefined && !running.has(id)) out.set(c.pid, c.line);
  }
  return out;
}

/**
 * The leftovers of containers this suite could have created; a process gone a second later is not one (a
 * container of another test or install being torn down as ps looked).
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
