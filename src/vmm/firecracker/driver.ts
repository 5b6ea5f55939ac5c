/**
 * Firecracker backend: one firecracker process per VM, configured through its API socket
 * (config.ts → api-client.ts), the agent reached over vsock (vsock.ts). Firecracker has no
 * virtiofs, so it needs the image rootfs mode, which does not exist yet: `checkHost` refuses
 * the backend with the reason until it does, rather than failing half-way through a boot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { Tail } from '../../common/tail.ts';
import { waitUntil } from '../../common/wait.ts';
import { envValue } from '../../oci/spec.ts';
import type { HostCheck, RunningVm, VmExit, VmmDriver } from '../driver.ts';
import { VmmUnavailableError } from '../driver.ts';
import type { VmSpec } from '../vm-spec.ts';
import { CTRL_ALT_DEL, AGENT_VSOCK_PORT, firecrackerCalls, type FirecrackerPaths } from './config.ts';
import { FirecrackerApi } from './api-client.ts';
import { versionProblem } from './version.ts';
import { vsockConnect } from './vsock.ts';

const SOCKET_TIMEOUT_MS = 10_000;
const AGENT_TIMEOUT_MS = 60_000;

export function findFirecracker(env: readonly string[], hostPath = process.env.PATH ?? ''): string | undefined {
  const explicit = envValue(env, 'RUNCVM_FIRECRACKER');
  const candidates = explicit ? [explicit] : hostPath.split(delimiter).filter(Boolean).map((d) => join(d, 'firecracker'));
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

class FirecrackerVm implements RunningVm {
  readonly exited: Promise<VmExit>;
  private done = false;

  constructor(private readonly proc: ChildProcess, private readonly paths: FirecrackerPaths, private readonly tail: Tail) {
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      this.done = true;
      resolve({ code, signal });
    }));
  }

  connectAgent(signal: AbortSignal): Promise<Socket> {
    return vsockConnect(this.paths.vsockSocket, AGENT_VSOCK_PORT, { timeoutMs: AGENT_TIMEOUT_MS, signal });
  }

  diagnostics(): string {
    return `firecracker output:\n${this.tail.text().trim()}`;
  }

  kill(): void {
    if (this.done) return;
    // Ask the guest first (i8042 reset on x86); the caller falls back to SIGKILL after its timeout.
    new FirecrackerApi(this.paths.apiSocket, 1000).call(CTRL_ALT_DEL).catch(() => {}).finally(() => {
      setTimeout(() => this.proc.kill('SIGKILL'), 2000).unref();
    });
  }
}

export const firecrackerDriver: VmmDriver = {
  name: 'firecracker',

  checkHost(check: HostCheck): void {
    const missing: string[] = [];
    if (!findFirecracker(check.env)) missing.push('firecracker binary not found (RUNCVM_FIRECRACKER or PATH)');
    if (!check.kvm) missing.push('no usable /dev/kvm');
    if (missing.length > 0) {
      throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: not available on this host: ${missing.join(', ')}`);
    }
    throw new VmmUnavailableError('RUNCVM_HYPERVISOR=firecracker: needs the image rootfs mode, which this runcvm build does not have yet (use qemu)');
  },

  async start(vm: VmSpec): Promise<RunningVm> {
    const binary = vm.vmmBinary;
    if (!binary) throw new VmmUnavailableError('firecracker: no binary given');
    const paths = firecrackerPaths(vm.runDir);
    const calls = firecrackerCalls(vm, paths);
    const tail = new Tail();
    const proc = spawn(binary, ['--api-sock', paths.apiSocket], { stdio: ['ignore', vm.consoleToStderr ? 2 : 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => tail.push(d));
    proc.stderr?.on('data', (d: Buffer) => tail.push(d));
    const running = new FirecrackerVm(proc, paths, tail);
    try {
      await waitUntil('the firecracker API socket', () => {
        if (proc.exitCode !== null) throw new Error(`firecracker exited (${proc.exitCode}): ${tail.text().trim()}`);
        return existsSync(paths.apiSocket) ? true : undefined;
      }, { timeoutMs: SOCKET_TIMEOUT_MS, intervalMs: 5 });
      const api = new FirecrackerApi(paths.apiSocket);
      const problem = versionProblem(`Firecracker v${await api.version()}`);
      if (problem) throw new VmmUnavailableError(problem);
      for (const c of calls) await api.call(c);
      return running;
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
  },
};
