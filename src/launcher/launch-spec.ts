/**
 * What `create` hands the launcher: the workload as Docker described it plus the validated
 * runcvm settings. Written to <bundle>/runcvm/spec.json (0600: it holds the workload's env) and
 * mounted read-only at SPEC_PATH in the launcher's root, never inside the guest's view.
 */
import type { NetworkMode } from '../network/setup.ts';
import type { Accel, Hypervisor } from '../runtime/options.ts';
import type { GuestSysctl } from '../runtime/sysctl.ts';
import type { VolumeServerSpec } from '../volumes/types.ts';

export const SPEC_DIR = '/.runcvm';
export const SPEC_PATH = `${SPEC_DIR}/spec.json`;
/** Where the install prefix appears inside every runcvm container. */
export const PREFIX_IN_CONTAINER = '/opt/runcvm';
/** The launcher's private run dir (VMM sockets, console log); docker update reaches it through a relay run inside the sandbox. */
export const RUN_DIR = '/run/runcvm';
/** Where the workload's root filesystem appears inside the launcher's root. */
export const WORKLOAD_ROOT = '/vm';
/** Where the image rootfs drives (rootfs/image-root.ts) appear inside the launcher's root. */
export const IMAGE_DISKS_DIR = '/.runcvm-disks';
/** In IMAGE_DISKS_DIR: the launcher saw the agent's clean exit, so the write-back happened. */
export const WRITTEN_BACK_MARKER = 'written-back';

/** RUNCVM_ROOTFS=image: drive files in IMAGE_DISKS_DIR, top layer first. */
export interface ImageRootSpec {
  mode: 'image';
  lowers: string[];
  upper: string;
  /** RUNCVM_VOLUMES=9p: the container's root comes back over 9P (these mount options), not virtiofs. */
  host9pOptions?: string;
}

/** Where a VMM binary `create` found on the host is bound in (inside the launcher's /run tmpfs). */
export function vmmBinaryInContainer(hypervisor: Hypervisor): string {
  return `/run/runcvm-vmm/${hypervisor}`;
}

/** Linux MS_* values, as the agent protocol carries them. */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_NOEXEC = 8;

export type GuestMount =
  /** source: the host path (create only needs it, for RUNCVM_VOLUMES=9p). */
  | { kind: 'bind'; destination: string; flags: number; source?: string }
  | { kind: 'tmpfs'; destination: string; flags: number; data: string }
  /** A 9P export of the volume server (src/volumes/); file: a single-file bind (the export holds it as `file`). */
  | { kind: '9p'; destination: string; flags: number; options: string; file: boolean };

/** A RUNCVM_DISKS entry (runtime/disks.ts) with the virtio-blk serial the guest looks for. */
export interface LaunchDisk {
  src: string;
  dst: string;
  fs: 'ext4' | 'ext3' | 'ext2';
  sizeBytes?: number;
  serial: string;
}

export interface WorkloadProcess {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  groups: number[];
  terminal: boolean;
  consoleSize?: { rows: number; cols: number };
}

export interface LaunchSpec {
  version: 1;
  containerId: string;
  hypervisor: Hypervisor;
  accel: Accel;
  kernel: { vmlinux: string; initramfs: string };
  cpus: number;
  memoryMiB: number;
  /** --cpuset-cpus: host CPUs the vCPU threads are pinned to. */
  hostCpus?: number[];
  /** Host TSC rate, needed by microvm guests under TCG (research: vmlab §0). */
  tscKhz?: number;
  kernelAppend: string;
  kernelDebug: boolean;
  runtimeDebug: boolean;
  hostname: string;
  /** Host path of the image's root filesystem (Docker's overlay), for command lookups at exec. */
  rootfs: string;
  rootReadonly: boolean;
  /** Absent: the root is the image tree shared over virtiofs. */
  rootImage?: ImageRootSpec;
  /** Command prefix for iptables in the launcher (host-config.ts), if the host has it. */
  iptables?: string[];
  /** own: the container has its own netns to hand to the VM; shared: host or another container's. */
  network: NetworkMode;
  mounts: GuestMount[];
  /** linux.sysctl, checked at create (runtime/sysctl.ts); the guest writes them. Absent in older specs. */
  sysctls?: GuestSysctl[];
  /** RUNCVM_VOLUMES=9p: the per-container file server and its private link; absent with virtiofs. */
  volumes?: VolumeServerSpec;
  /** RUNCVM_DISKS; absent in specs written before disks existed. */
  disks?: LaunchDisk[];
  /** The VMM binary inside the container, when it is not at a fixed place (Firecracker). */
  vmmBinary?: string;
  process: WorkloadProcess;
  /** Epoch milliseconds, for the benchmark's phase breakdown. */
  timing: { createStartMs: number; createEndMs: number };
  /** RUNCVM_TIMING: print the phase timestamps on stderr at exit (npm run bench). */
  printTiming?: boolean;
}
