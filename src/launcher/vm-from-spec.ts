/** LaunchSpec → the hypervisor-neutral VM description and the guest's CONFIG. */
import type { VmConfig } from '../agent-protocol/messages.ts';
import type { GuestNetwork } from '../contracts/guest-network.ts';
import { KERNELS, type KernelName } from '../contracts/kinds.ts';
import { guestRootOf, IMAGE_DISKS_DIR, type LaunchSpec, WORKLOAD_ROOT } from '../contracts/launch-spec.ts';
import { type BlockDevice, guestCmdline, type Nic, type VmSpec } from '../vmm/vm-spec.ts';

export const ROOT_TAG = 'root';
const LOWER_SERIAL = (i: number) => `runcvm-layer${i}`;
const UPPER_SERIAL = 'runcvm-upper';

/** The installed kernel a path names (`.../kernels/<name>/vmlinux`, the runtime's layout), if any. */
export function installedKernelOf(vmlinux: string): KernelName | undefined {
  const m = /\/kernels\/([^/]+)\/vmlinux$/.exec(vmlinux);
  return KERNELS.find((k) => k === m?.[1]);
}

/** The root tree is shared over virtiofs (the image tree, or an image root's merged view) unless it comes over 9P. */
function rootShared(spec: LaunchSpec): boolean {
  const root = guestRootOf(spec);
  return root.kind === 'virtiofs' || root.tree.kind === 'virtiofs';
}

/** RUNCVM_ROOTFS=image: the layer drives (read-only, shared) and the container's writable one. */
function imageRootDevices(spec: LaunchSpec): BlockDevice[] {
  const img = guestRootOf(spec);
  if (img.kind !== 'image') return [];
  return [
    ...img.lowers.map((f, i) => ({
      id: `layer${i}`,
      path: `${IMAGE_DISKS_DIR}/${f}`,
      readonly: true,
      serial: LOWER_SERIAL(i),
    })),
    { id: 'upper', path: `${IMAGE_DISKS_DIR}/${img.upper}`, readonly: false, serial: UPPER_SERIAL },
  ];
}

/** blockDevices: the RUNCVM_DISKS files the launcher prepared (disks.ts). */
export function vmSpecFor(
  spec: LaunchSpec,
  runDir: string,
  blockDevices: BlockDevice[] = [],
  nics: Nic[] = [],
): VmSpec {
  const kernelName = installedKernelOf(spec.kernel.vmlinux);
  return {
    name: `runcvm-${spec.containerId.slice(0, 12)}`,
    accel: spec.accel,
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
    ...(spec.hostCpus ? { hostCpus: spec.hostCpus } : {}),
    kernel: spec.kernel.vmlinux,
    ...(kernelName ? { kernelName } : {}),
    initrd: spec.kernel.initramfs,
    cmdline: guestCmdline({
      accel: spec.accel,
      tscKhz: spec.tscKhz,
      debug: spec.runtimeDebug,
      kernelDebug: spec.kernelDebug,
      append: spec.kernelAppend,
    }),
    // An image root whose volumes and write-back go over 9P needs no virtiofs (Firecracker has none).
    fsShares: rootShared(spec) ? [{ tag: ROOT_TAG, source: WORKLOAD_ROOT }] : [],
    // Virtiofs also serves an image root's volumes and takes its write-back.
    blockDevices: [...imageRootDevices(spec), ...blockDevices],
    nics,
    runDir,
    consoleToStderr: spec.kernelDebug,
    ...(spec.vmmBinary ? { vmmBinary: spec.vmmBinary } : {}),
  };
}

export function guestConfigFor(spec: LaunchSpec, network: GuestNetwork): VmConfig {
  return {
    hostname: spec.hostname,
    rootTag: rootShared(spec) ? ROOT_TAG : '',
    rootReadonly: spec.rootReadonly,
    mounts: spec.mounts,
    sysctls: (spec.sysctls ?? []).map((s) => ({ path: s.path, value: s.value })),
    debug: spec.runtimeDebug,
    network,
    disks: (spec.disks ?? []).map((d) => ({ serial: d.serial, destination: d.dst, fs: d.fs, flags: 0 })),
    rootImage: spec.rootImage && {
      lowers: spec.rootImage.lowers.map((_, i) => LOWER_SERIAL(i)),
      upper: UPPER_SERIAL,
      host9pOptions: spec.rootImage.host9pOptions,
    },
    ...(spec.volumes ? { volumeLink: spec.volumes.link } : {}),
  };
}
