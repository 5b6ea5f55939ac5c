/** Test support: a complete launch spec (what create writes) for tests to change what they are about. */
import type { LaunchSpec } from '../launch-spec.ts';

export function sampleLaunchSpec(change: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    version: 1,
    containerId: '0123456789abcdef',
    hypervisor: 'qemu',
    accel: 'tcg',
    kernel: { vmlinux: '/opt/runcvm/kernels/runcvm/vmlinux', initramfs: '/opt/runcvm/kernels/runcvm/initramfs.cpio' },
    cpus: 1,
    memoryMiB: 512,
    kernelAppend: '',
    kernelDebug: false,
    runtimeDebug: false,
    hostname: 'h',
    rootfs: '/var/lib/docker/overlay2/x/merged',
    rootReadonly: false,
    network: 'own',
    mounts: [],
    process: { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false },
    timing: { createStartMs: 1, createEndMs: 2 },
    ...change,
  };
}
