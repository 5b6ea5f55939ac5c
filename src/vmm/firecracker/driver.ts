/**
 * Firecracker backend: one firecracker process per VM, configured through its API socket
 * (config.ts → api-client.ts), the agent reached over vsock (vsock.ts). Firecracker has no
 * virtiofs, so it needs the image rootfs mode: `checkHost` refuses the backend with the reason
 * while the container's root is not an image, rather than failing half-way through a boot.
 * Stopping: the agent's SHUTDOWN makes the guest reset (runcvm.exit=reset), which ends
 * Firecracker; SendCtrlAltDel (a clean power-off by the agent) and SIGKILL are the fallbacks.
 * Under runcvm-supervisor (VmSpec.stderrPipes) Firecracker writes into the supervisor's pipe and
 * the supervisor takes it over after boot (`pids`), doing the same on its side
 * (src/launcher/supervisor: fcvsock.c, fcapi.c).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Tail } from '../../common/tail.ts';
import { tryConnect } from '../../common/unix-socket.ts';
import { waitUntil } from '../../common/wait.ts';
import type { HostCheck, HostReady, RunningVm, VmExit, VmmDriver } from '../driver.ts';
import { VmmUnavailableError } from '../driver.ts';
import type { VmSpec } from '../vm-spec.ts';
import { FirecrackerApi } from './api-client.ts';
import { AGENT_VSOCK_PORT, assertSupported, CTRL_ALT_DEL, type FirecrackerPaths, firecrackerCalls } from './config.ts';
import { parseFirecrackerVersion, versionProblem } from './version.ts';
import { vsockConnect } from './vsock.ts';

const SOCKET_TIMEOUT_MS = 10_000;
const AGENT_TIMEOUT_MS = 60_000;

/** The host setting's binary, else the first in the runtime's PATH (both the host's, never a container's). */
export function findFirecracker(explicit: string | undefined, hostPath = process.env.PATH ?? ''): string | undefined {
  const candidates = explicit
    ? [explicit]
    : hostPath
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, 'firecracker'));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function firecrackerPaths(runDir: string): FirecrackerPaths {
  return { apiSocket: join(runDir, 'fc-api.sock'), vsockSocket: join(runDir, 'fc-vsock.sock') };
}

/** `firecracker --version` → null when this driver supports it, else why not. */
export function binaryVersionProblem(binary: string): string | null {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `cannot run ${binary} --version: ${r.error.message}`;
  return versionProblem(`${r.stdout}${r.stderr}`);
}

class FirecrackerVm implements RunningVm {
  readonly exited: Promise<VmExit>;
  readonly driveOrder: string[];
  /** Only under the supervisor: Firecracker's output must not go to a pipe that dies with us. */
  readonly pids?: { vmm: number; helpers: number[] };
  private done = false;

  constructor(
    private readonly proc: ChildProcess,
    private readonly paths: FirecrackerPaths,
    private readonly tail: Tail,
    vm: VmSpec,
    private readonly graceMs: number,
    private readonly output: FirecrackerOutput,
  ) {
    if (output.supervised && proc.pid !== undefined) this.pids = { vmm: proc.pid, helpers: [] };
    this.exited = new Promise((resolve) => {
      const end = (e: VmExit) => {
        this.done = true;
        resolve(e);
      };
      proc.once('exit', (code, signal) => end({ code, signal }));
      // A binary that cannot be executed gives 'error' and no 'exit'.
      proc.once('error', () => end({ code: null, signal: null }));
    });
    // Firecracker drives have no serial: the guest counts them in attach order (docs/firecracker.md).
    this.driveOrder = vm.blockDevices.map((d) => d.serial);
  }

  connectAgent(signal: AbortSignal): Promise<Socket> {
    return vsockConnect(this.paths.vsockSocket, AGENT_VSOCK_PORT, { timeoutMs: AGENT_TIMEOUT_MS, signal });
  }

  releaseOutput(): void {
    this.output.release();
  }

  diagnostics(): string {
    // Firecracker's stdout carries both its own log and the guest's serial console.
    return `firecracker output and guest console (last lines):\n${this.tail.text().trim()}`;
  }

  async kill(): Promise<void> {
    if (this.done) return;
    await new FirecrackerApi(this.paths.apiSocket, 1000).call(CTRL_ALT_DEL).catch(() => {});
    const gone = await Promise.race([this.exited.then(() => true), sleep(this.graceMs).then(() => false)]);
    if (!gone) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface FirecrackerHost {
  /** Whether the container's root is an image (block devices) rather than a virtiofs share. */
  imageRootfs: (check: HostCheck) => boolean;
  version: (binary: string) => string | null;
  /** After SendCtrlAltDel the agent syncs, unmounts and resets; SIGKILL after this long. */
  ctrlAltDelGraceMs: number;
}

const DEFAULT_HOST: FirecrackerHost = {
  imageRootfs: (check) => check.rootfs === 'image',
  version: binaryVersionProblem,
  ctrlAltDelGraceMs: 3000,
};

/** Where Firecracker's output (its log and the guest console) is read, and until when. */
interface FirecrackerOutput {
  /** It writes into runcvm-supervisor's pipe, which outlives the launcher. */
  supervised: boolean;
  /** Stops reading: from now on the supervisor reads what Firecracker writes. */
  release(): void;
}

function spawnFirecracker(
  binary: string,
  paths: FirecrackerPaths,
  vm: VmSpec,
  tail: Tail,
): { proc: ChildProcess; output: FirecrackerOutput } {
  // Firecracker refuses to bind a socket path that exists (a restarted container's leftovers).
  rmSync(paths.apiSocket, { force: true });
  rmSync(paths.vsockSocket, { force: true });
  const take = (d: Buffer) => {
    tail.push(d);
    vm.output?.('firecracker', d);
  };
  // Under runcvm-supervisor: its pipe for the VMM, read here until the handover (as QEMU's stderr).
  const pipe = vm.stderrPipes?.vmm;
  const out = pipe ? pipe.write : 'pipe';
  const proc = spawn(binary, ['--api-sock', paths.apiSocket, '--id', vm.name], {
    stdio: ['ignore', vm.consoleToStderr ? 2 : out, out],
  });
  for (const s of [proc.stdout, proc.stderr]) s?.on('data', take);
  if (!pipe) return { proc, output: { supervised: false, release: () => {} } };
  const reader = new Socket({ fd: pipe.read, readable: true, writable: false });
  reader.on('data', take);
  // The pipe stays the supervisor's: an error here costs the launcher's copy of the lines only.
  reader.on('error', () => {});
  return { proc, output: { supervised: true, release: () => reader.pause() } };
}

async function configure(
  binary: string,
  proc: ChildProcess,
  paths: FirecrackerPaths,
  vm: VmSpec,
  tail: Tail,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', (e) =>
      reject(new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: cannot run ${binary}: ${e.message}`)),
    );
  });
  await waitUntil(
    'the firecracker API socket',
    async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(
          `firecracker exited (${proc.exitCode ?? proc.signalCode}) before its API socket appeared: ${tail.text().trim()}`,
        );
      }
      // The path exists from bind() on, but connections are refused until listen(): only an
      // accepted connection says the API is up.
      const s = await tryConnect(paths.apiSocket);
      s?.destroy();
      return s ? true : undefined;
    },
    { timeoutMs: SOCKET_TIMEOUT_MS, intervalMs: 5 },
  );
  const api = new FirecrackerApi(paths.apiSocket);
  const reported = `Firecracker v${await api.version()}`;
  const problem = versionProblem(reported);
  if (problem) throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: ${problem}`);
  const version = parseFirecrackerVersion(reported) as [number, number, number];
  for (const c of firecrackerCalls(vm, paths, { balloon: true, version })) await api.call(c);
}

export const makeFirecrackerDriver = (host: FirecrackerHost = DEFAULT_HOST): VmmDriver => ({
  name: 'firecracker',

  checkHost(check: HostCheck): HostReady {
    const binary = findFirecracker(check.firecracker);
    const missing: string[] = [];
    if (!binary)
      missing.push(`firecracker binary not found (${check.firecracker ?? 'the host setting "firecracker", or PATH'})`);
    if (!check.kvm) missing.push('no usable /dev/kvm (Firecracker runs only under KVM)');
    else if (check.accel === 'tcg')
      missing.push(
        "KVM is not usable (the install's KVM probe failed, or RUNCVM_ACCEL=tcg) and Firecracker runs only under KVM",
      );
    if (missing.length > 0 || !binary) {
      throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: not available on this host: ${missing.join(', ')}`);
    }
    const problem = host.version(binary);
    if (problem) throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: ${problem}`);
    if (!host.imageRootfs(check)) {
      throw new VmmUnavailableError(
        'RUNCVM_HYPERVISOR=firecracker: needs RUNCVM_ROOTFS=image (Firecracker has no virtiofs)',
      );
    }
    if (check.jailer) {
      throw new VmmUnavailableError(
        'host setting "jailer": true is not supported yet: the jailer needs CAP_SYS_ADMIN (mount namespace, pivot_root) and a writable cgroup in the launcher\'s container, which runcvm does not grant (Firecracker applies its own seccomp filters without it)',
      );
    }
    return { vmmBinary: binary };
  },

  async start(vm: VmSpec): Promise<RunningVm> {
    const binary = vm.vmmBinary;
    if (!binary)
      throw new VmmUnavailableError('RUNCVM_HYPERVISOR=firecracker: no firecracker binary was bound in at create');
    assertSupported(vm);
    const paths = firecrackerPaths(vm.runDir);
    const tail = new Tail();
    const { proc, output } = spawnFirecracker(binary, paths, vm, tail);
    const running = new FirecrackerVm(proc, paths, tail, vm, host.ctrlAltDelGraceMs, output);
    try {
      await configure(binary, proc, paths, vm, tail);
      return running;
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
  },
});

export const firecrackerDriver = makeFirecrackerDriver();
