/**
 * The one VM description every hypervisor driver consumes. Drivers turn it into a command
 * line (QEMU) or API calls (Firecracker); nothing else about a VM is hypervisor-specific.
 */
import type { Accel, KernelName } from '../contracts/kinds.ts';

export interface FsShare {
  /** Tag the guest mounts (virtiofs). */
  tag: string;
  /** Directory served, in the launcher's mount namespace. */
  source: string;
}

export interface BlockDevice {
  id: string;
  path: string;
  readonly: boolean;
  /** The guest finds disks by /sys/block/vd*\/serial, not by order. */
  serial: string;
}

export interface Nic {
  id: string;
  mac: string;
  /** A tap bridged with a container interface, or QEMU's user-mode network (shared netns). */
  backend: { kind: 'tap'; tap: string } | { kind: 'user' };
}

export interface VmSpec {
  name: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  /** Which of the installed kernels `kernel` is (kernels/<name>/vmlinux); absent: another one. */
  kernelName?: KernelName;
  initrd: string;
  cmdline: string[];
  fsShares: FsShare[];
  blockDevices: BlockDevice[];
  nics: Nic[];
  /** Directory for the VM's sockets and logs (launcher-private tmpfs). */
  runDir: string;
  /** true: the guest's serial console goes to the launcher's stderr (debugging). */
  consoleToStderr: boolean;
  /** --cpuset-cpus: host CPUs the vCPU threads are pinned to, round-robin (cpu-pinning.ts). */
  hostCpus?: number[];
  /** The VMM binary when it is not at a fixed place (firecracker: RUNCVM_FIRECRACKER or PATH). */
  vmmBinary?: string;
  /** Also gets everything the VMM and its helpers write (the container's host log, common/host-log.ts). */
  output?: (source: 'qemu' | 'virtiofsd' | 'firecracker', chunk: Buffer) => void;
  /**
   * Pipes runcvm-supervisor made for the VMM's and the file servers' stderr (one per source, both
   * ends inherited by the launcher): the children write to `write`, the launcher reads `read` until
   * the handover, the supervisor after it (docs/architecture.md). Absent: the driver's own pipes.
   */
  stderrPipes?: StderrPipes;
}

export interface PipeFds {
  read: number;
  write: number;
}

export interface StderrPipes {
  vmm: PipeFds;
  fileServer: PipeFds;
}

/** Kernel command line shared by every backend. */
export function guestCmdline(opts: {
  accel: Accel;
  tscKhz?: number;
  debug: boolean;
  kernelDebug: boolean;
  append: string;
}): string[] {
  // percpu_alloc=page: x86's default first chunk is 2 MiB-aligned, so the memcg accounting array
  // of the next per-CPU chunk is sized for 2 MiB units (4 MiB vmalloc'd and zeroed); page-sized
  // units cut an idle guest's touched RAM by ~5 MiB (docs/performance.md).
  const args = ['console=ttyS0', 'panic=-1', 'cryptomgr.notests', 'percpu_alloc=page'];
  if (!opts.kernelDebug) args.push('quiet', 'loglevel=1');
  // microvm has no HPET/PM timer: under TCG the PIT calibration can hang without this. The
  // runcvm kernel takes the CPU's rate from it too (guest/kernel/patches/0002-…): no PIT loop.
  if (opts.accel === 'tcg' && opts.tscKhz) args.push(`tsc_early_khz=${opts.tscKhz}`, 'tsc=reliable');
  if (opts.accel === 'tcg') args.push(...tcgBootArgs());
  if (opts.debug) args.push('runcvm.debug=1');
  if (opts.append) args.push(...opts.append.split(/\s+/).filter(Boolean));
  return args;
}

/**
 * Boot steps that cost 40-100 ms each under TCG and next to nothing on hardware
 * (docs/performance.md, "The kernel's boot under TCG"):
 * - noreplace-smp: with one CPU present the kernel rewrites every `lock` prefix of its text to a
 *   no-op, and each write to already translated code makes QEMU drop and retranslate that page.
 *   The prefixes stay; a locked instruction on one vCPU costs next to nothing.
 * - runcvm.apic_khz: TCG has no TSC-deadline timer, so the kernel calibrated the local APIC timer
 *   against the PIT for HZ/10 ticks (100 ms of wall time). QEMU's emulated APIC counts at 1 GHz
 *   (its calibration measures 999.4 MHz here); the runcvm kernel takes the frequency from this
 *   parameter (guest/kernel/patches/0001-apic-khz-param.patch). Other kernels ignore it: a
 *   dotted parameter no built-in code claims is a module's, never passed on to init.
 * - runcvm.init_poison=0: the kernel filled its freed init code with a poison byte, and each write
 *   to a page of executed code makes QEMU drop that page's translations (~40 ms of every boot);
 *   the runcvm kernel frees it as it is (0003-init-poison-param.patch).
 * KVM guests get a TSC-deadline timer and keep the kernel's defaults.
 */
function tcgBootArgs(): string[] {
  return ['noreplace-smp', `runcvm.apic_khz=${QEMU_APIC_KHZ}`, 'runcvm.init_poison=0'];
}

const QEMU_APIC_KHZ = 1_000_000;
