/**
 * The narrow interface every hypervisor backend implements (one folder per backend).
 * `checkHost` runs in `create` on the host so a backend that cannot run fails `docker run`
 * at once; `start` runs in the launcher inside the container.
 */
import type { Duplex } from 'node:stream';
import { HostNotReadyError } from '../contracts/errors.ts';
import type { Accel } from '../contracts/kinds.ts';
import type { Balloon } from './balloon.ts';
import type { VmSpec } from './vm-spec.ts';

export interface HostCheck {
  kvm: boolean;
  /** The accelerator chosen for this container (tcg when KVM opens but the install probe failed). */
  accel?: Accel;
  /** Host path of the kernel and initramfs chosen for this container. */
  kernel: string;
  initrd: string;
  /** The host administrator's VMM settings (runtime/host-settings.ts); never the container's. */
  firecracker?: string;
  jailer?: boolean;
  /** How the container's root reaches the guest (virtiofs when not given). */
  rootfs?: 'virtiofs' | 'image';
}

/** What `create` must add to the container for the launcher to start this backend. */
export interface HostReady {
  /** Host path of the VMM binary, bind-mounted read-only at `vmmBinaryInContainer()` (launch-spec.ts). */
  vmmBinary?: string;
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
  /**
   * For VMMs whose drives carry no serial (Firecracker): the drives' serials in attach order,
   * sent to the guest as DRIVE_ORDER so it can still find each drive by serial.
   */
  readonly driveOrder?: string[];
  /**
   * The VMM's and its helpers' host PIDs, for a backend whose processes another process can take
   * over once the launcher exits (runcvm-supervisor, docs/architecture.md). Absent: it cannot.
   */
  readonly pids?: { vmm: number; helpers: number[] };
  /**
   * Stops reading the VMM's and its helpers' stderr (VmSpec.stderrPipes), for the handover: what
   * they write from now on stays in the pipes for the supervisor. Absent: nothing to release.
   */
  releaseOutput?(): void;
  /** Stop for when the guest did not power off by itself (a driver may try a gentler way first). */
  kill(): void | Promise<void>;
}

export interface VmmDriver {
  readonly name: string;
  checkHost(check: HostCheck): HostReady | void;
  start(vm: VmSpec): Promise<RunningVm>;
  /**
   * Live control of a VM this driver started, from another process (docker update, host root).
   * The driver gets no path: `relay(verb)` runs `runcvm.mjs <verb>` inside the container's
   * sandbox with the launcher's credentials and returns its stdio, connected to the VMM's socket
   * as the launcher sees it (runtime/sandbox-relay.ts). `label` names the container in errors.
   * Absent: the backend cannot change a running VM.
   */
  openControl?(relay: (verb: string) => Duplex, label: string): Promise<VmControl>;
}

/** A running VM's knobs, the same for every backend (QEMU: QMP; Firecracker: its API socket). */
export interface VmControl {
  readonly balloon: Balloon;
  /** Thread ids of the vCPUs, vCPU 0 first, in the VMM's PID namespace. */
  vcpuThreads(): Promise<number[]>;
  close(): void;
}

/** The backend cannot run on this host (binary, KVM, version, mode it lacks). */
export class VmmUnavailableError extends HostNotReadyError {}
