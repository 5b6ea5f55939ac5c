/**
 * What `create` hands the launcher: the workload as Docker described it plus the validated
 * runcvm settings. Written to <bundle>/runcvm/spec.json (0600: it holds the workload's env) and
 * mounted read-only at SPEC_PATH in the launcher's root, never inside the guest's view.
 */

import type { GuestMount } from './guest-mount.ts';
import type { GuestSysctl } from './guest-sysctl.ts';
import type { Accel, Hypervisor, NetworkMode } from './kinds.ts';
import type { VolumeServerSpec } from './volume-server.ts';
import type { WorkloadProcess } from './workload-process.ts';

export const SPEC_DIR = '/.runcvm';
export const SPEC_PATH = `${SPEC_DIR}/spec.json`;
/** Where the install prefix appears inside every runcvm container. */
export const PREFIX_IN_CONTAINER = '/opt/runcvm';
/** The launcher's private run dir (VMM sockets, console log); docker update reaches it through a relay run inside the sandbox. */
export const RUN_DIR = '/run/runcvm';
/** The exec client's (runcvm-exec) environment variable: the agent START payload (TLV), base64. */
export const EXEC_START_ENV = 'RUNCVM_EXEC_START';
/** Set for a pod VM's PortForward stream (launcher/port-forward.ts): stdin and stdout are the
 * diverted TCP connection, and runcvm-exec adds its original port to the START. */
export const EXEC_PORT_ENV = 'RUNCVM_EXEC_PORT_OF_STDIN';
/** Set for a pod VM's app container (runtime/pod-vm.ts): the memory limit (bytes) of the exec
 * client's own host cgroup. When the guest reports the container OOM-killed, the client touches
 * memory until the host's OOM killer ends it there, so containerd's shim sees an OOM kill in the
 * container's cgroup and the CRI reports reason OOMKilled. */
export const EXEC_OOM_ENV = 'RUNCVM_EXEC_OOM_HOST_LIMIT';
/** Where the workload's root filesystem appears inside the launcher's root. */
export const WORKLOAD_ROOT = '/vm';
/**
 * A pod VM's socket for its containers (runtime/pod-vm.ts): the runtime binds the pod share's
 * sock/ dir here in the sandbox's launcher, and at RUN_DIR in each app container of the pod, whose
 * exec client then finds the socket at its usual path (RUN_DIR/exec.sock).
 */
export const POD_SOCKET_DIR = '/run/runcvm-pod';
export const POD_SOCKET = `${POD_SOCKET_DIR}/exec.sock`;
/** A pod VM's launcher log (the CRI gives a sandbox no stdio): bound from the share's log/ dir. */
export const POD_LOG_DIR = '/run/runcvm-pod-log';
export const POD_LOG_FILE = 'launcher.log';
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

/**
 * How the guest gets the container's root. spec.json encodes it by which fields are present
 * (no rootImage: virtiofs; rootImage.host9pOptions: the tree over 9P); code reads it through
 * guestRootOf as a tagged union instead of testing optional fields.
 */
export type GuestRoot =
  /** The image tree shared live over virtiofs. */
  | { kind: 'virtiofs' }
  /** Layer drives and a writable drive; `tree` is how the container's merged view (the write-back target) reaches the guest. */
  | { kind: 'image'; lowers: string[]; upper: string; tree: { kind: 'virtiofs' } | { kind: '9p'; options: string } };

export function guestRootOf(spec: { rootImage?: ImageRootSpec }): GuestRoot {
  const img = spec.rootImage;
  if (!img) return { kind: 'virtiofs' };
  const tree = img.host9pOptions ? { kind: '9p' as const, options: img.host9pOptions } : { kind: 'virtiofs' as const };
  return { kind: 'image', lowers: img.lowers, upper: img.upper, tree };
}

/** Where a VMM binary `create` found on the host is bound in (inside the launcher's /run tmpfs). */
export function vmmBinaryInContainer(hypervisor: Hypervisor): string {
  return `/run/runcvm-vmm/${hypervisor}`;
}

/** A RUNCVM_DISKS entry (runtime/disks.ts) with the virtio-blk serial the guest looks for. */
export interface LaunchDisk {
  src: string;
  dst: string;
  fs: 'ext4' | 'ext3' | 'ext2';
  sizeBytes?: number;
  serial: string;
}

/** The spec.json format this runcvm writes and reads; a reader refuses any other (read-launch-spec.ts). */
export const LAUNCH_SPEC_VERSION = 1;

export interface LaunchSpec {
  version: typeof LAUNCH_SPEC_VERSION;
  containerId: string;
  hypervisor: Hypervisor;
  accel: Accel;
  kernel: { vmlinux: string; initramfs: string };
  cpus: number;
  memoryMiB: number;
  /** --cpuset-cpus: host CPUs the vCPU threads are pinned to. */
  hostCpus?: number[];
  /** Host TSC rate, needed by microvm guests under TCG (without it they can hang in TSC calibration). */
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
  /** The install prefix on the host (inside, it is PREFIX_IN_CONTAINER): which install a running VM belongs to. */
  hostPrefix?: string;
  process: WorkloadProcess;
  /**
   * Epoch milliseconds, for the benchmark's phase breakdown. createNodeMs: when the Node process
   * running `create` started (its boot and the bundle's load end at createStartMs); absent in
   * specs written before it existed.
   */
  timing: { createNodeMs?: number; createStartMs: number; createEndMs: number };
  /** RUNCVM_TIMING: print the phase timestamps on stderr at exit (npm run bench). */
  printTiming?: boolean;
  /**
   * A Docker Swarm task (runtime/engine-store.ts): the supervisor runs the net-sync step once the
   * workload starts, for the routing mesh's port redirects, instead of comparing interfaces only.
   */
  swarmTask?: boolean;
  /**
   * A CRI pod VM: containerd's PortForward dials the pod netns's loopback, which the launcher
   * diverts to the guest (launcher/port-forward.ts). Never for a Docker container, even one
   * others may join: its netns's loopback carries Docker's embedded DNS (127.0.0.11) and is what a
   * runc container joining it uses.
   */
  portForward?: boolean;
}
