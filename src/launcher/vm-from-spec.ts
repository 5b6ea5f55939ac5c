/** LaunchSpec → the hypervisor-neutral VM description and the guest's CONFIG. */
import type { VmConfig } from '../agent-protocol/messages.ts';
import { guestCmdline, type VmSpec } from '../vmm/vm-spec.ts';
import { type LaunchSpec, WORKLOAD_ROOT } from './launch-spec.ts';

export const ROOT_TAG = 'root';

export function vmSpecFor(spec: LaunchSpec, runDir: string): VmSpec {
  return {
    name: `runcvm-${spec.containerId.slice(0, 12)}`,
    accel: spec.accel,
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
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
    blockDevices: [],
    nics: [],
    runDir,
    consoleToStderr: spec.kernelDebug,
  };
}

export function guestConfigFor(spec: LaunchSpec): VmConfig {
  return {
    hostname: spec.hostname,
    rootTag: ROOT_TAG,
    rootReadonly: spec.rootReadonly,
    mounts: spec.mounts,
    debug: spec.runtimeDebug,
  };
}
