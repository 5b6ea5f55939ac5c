/**
 * The narrow interface every hypervisor backend implements (one folder per backend).
 * `checkHost` runs in `create` on the host so a backend that cannot run fails `docker run`
 * at once; `start` runs in the launcher inside the container.
 */
import type { Duplex } from 'node:stream';
import type { Balloon } from './balloon.ts';
import type { VmSpec } from './vm-spec.ts';

export interface HostCheck {
  kvm: boolean;
  /** Host path of the kernel and initramfs chosen for this container. */
  kernel: string;
  initrd: string;
  env: readonly string[];
}

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningVm {
  /** The agent channel once the guest side is reachable. */
  connectAgent(signal: AbortSignal): Promise<Duplex>;
  readonly exited: Promise<VmExit>;
  /** Last lines of the VMM's stderr and the guest console, for error messages. */
  diagnostics(): string;
  /** Hard stop, for when the guest did not power off by itself. */
  kill(): void;
}

export interface VmmDriver {
  readonly name: string;
  checkHost(check: HostCheck): void;
  start(vm: VmSpec): Promise<RunningVm>;
  /**
   * Live control of a VM this driver started, from another process (docker update) that sees
   * the VM's run dir at `runDir`. Absent: the backend cannot change a running VM.
   */
  openControl?(runDir: string): Promise<VmControl>;
}

/** A running VM's knobs, the same for every backend (QEMU: QMP; Firecracker: its API socket). */
export interface VmControl {
  readonly balloon: Balloon;
  /** Thread ids of the vCPUs, vCPU 0 first, in the VMM's PID namespace. */
  vcpuThreads(): Promise<number[]>;
  close(): void;
}

export class VmmUnavailableError extends Error {}
