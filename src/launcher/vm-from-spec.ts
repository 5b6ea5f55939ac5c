/** LaunchSpec → the hypervisor-neutral VM description and the guest's CONFIG. */
import type { VmConfig } from '../agent-protocol/messages.ts';
import type { GuestNetwork } from '../network/types.ts';
import { type BlockDevice, guestCmdline, type Nic, type VmSpec } from '../vmm/vm-spec.ts';
import { type LaunchSpec, WORKLOAD_ROOT } from './launch-spec.ts';

export const ROOT_TAG = 'root';

/** blockDevices: the RUNCVM_DISKS files the launcher prepared (disks.ts). */
export function vmSpecFor(spec: LaunchSpec, runDir: string, blockDevices: BlockDevice[] = [], nics: Nic[] = []): VmSpec {
  return {
    name: `runcvm-${spec.containerId.slice(0, 12)}`,
    accel: spec.accel,
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
    ...(spec.hostCpus ? { hostCpus: spec.hostCpus } : {}),
    kernel: spec.kernel.vmlinux,
    initrd: spec.kernel.initramfs,
    cmdline: guestCmdline({
      accel: spec.accel,
      tscKhz: spec.tscKhz,
      debug: spec.runtimeDebug,
      kernelDebug: spec.kernelDebug,
      append: spec.kernelAppend,
    }),
    fsShares: [{ tag: ROOT_TAG, source: WORKLOAD_ROOT }],
    blockDevices,
    nics,
    runDir,
    consoleToStderr: spec.kernelDebug,
  };
}

export function guestConfigFor(spec: LaunchSpec, network: GuestNetwork): VmConfig {
  return {
    hostname: spec.hostname,
    rootTag: ROOT_TAG,
    rootReadonly: spec.rootReadonly,
    mounts: spec.mounts,
    debug: spec.runtimeDebug,
    network,
    disks: (spec.disks ?? []).map((d) => ({ serial: d.serial, destination: d.dst, fs: d.fs, flags: 0 })),
  };
}
