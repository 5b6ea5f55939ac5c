/**
 * VM description → qemu-system-x86_64 argv (pure; the driver does the I/O).
 * microvm with modern virtio-mmio (vhost-user-fs refuses legacy devices), memory
 * from a shared memfd (virtiofsd maps guest RAM), the ELF vmlinux booted through PVH.
 */
import { join } from 'node:path';
import type { KernelName } from '../../contracts/kinds.ts';
import type { VmSpec } from '../vm-spec.ts';

export const AGENT_PORT_NAME = 'org.runcvm.agent';

export interface QemuPaths {
  agentSocket: string;
  consoleLog: string;
  /** QMP: vCPU thread ids for pinning, the balloon for docker update (one client at a time). */
  qmpSocket: string;
  fsSocket: (tag: string) => string;
}

export function qemuPaths(runDir: string): QemuPaths {
  return {
    agentSocket: join(runDir, 'agent.sock'),
    consoleLog: join(runDir, 'console.log'),
    qmpSocket: join(runDir, 'qmp.sock'),
    fsSocket: (tag) => join(runDir, `fs-${tag}.sock`),
  };
}

/**
 * TCG's translation cache (`tb-size`, MiB) per installed kernel. The cache is one anonymous
 * mapping QEMU fills and, when full, flushes and fills again, so its resident part grows to the
 * whole size and stays (QEMU's default: 1 GiB). Measured on an idle container plus a workload
 * after boot (docs/performance.md, "QEMU's own memory"): the runcvm kernel at 24 MiB costs no
 * measurable time against 32 and saves 8 MiB; 16 MiB cost ~1.1x QEMU CPU on a varied shell
 * script (twice), 8 MiB 3.6x on a docker exec loop. Debian's boot alone fills ~38 MiB, and at 24
 * it cost 1.12x QEMU CPU on both workloads, so it keeps 32.
 */
export const TCG_CACHE_MIB: Record<KernelName, number> = { runcvm: 24, debian: 32 };
/** Any other kernel: the size measured no slower than 64 MiB with both installed ones. */
export const TCG_CACHE_DEFAULT_MIB = 32;

function accelArgs(vm: VmSpec): string[] {
  if (vm.accel === 'kvm') return ['-accel', 'kvm', '-cpu', 'host'];
  // KVM has no translation cache; under TCG it is most of what QEMU itself costs.
  const tb = vm.kernelName ? TCG_CACHE_MIB[vm.kernelName] : TCG_CACHE_DEFAULT_MIB;
  return ['-accel', `tcg,tb-size=${tb}`, '-cpu', 'max'];
}

export const BALLOON_ID = 'balloon0';
export const BALLOON_QOM_PATH = `/machine/peripheral/${BALLOON_ID}`;
/** The guest-stats polling interval `runcvm metrics` sets for one poll (guest-metrics.ts). */
export const BALLOON_STATS_INTERVAL_S = 1;

export function qemuArgv(vm: VmSpec, paths: QemuPaths): string[] {
  const argv = [
    // debug-threads: vCPU threads are named "CPU <n>/TCG|KVM" on the host (top, /proc, tests).
    '-name',
    `${vm.name},debug-threads=on`,
    '-M',
    'microvm,pic=off,pit=on,rtc=on,memory-backend=mem',
    '-global',
    'virtio-mmio.force-legacy=false',
    ...accelArgs(vm),
    '-m',
    `${vm.memoryMiB}M`,
    '-smp',
    String(vm.cpus),
    '-object',
    `memory-backend-memfd,id=mem,size=${vm.memoryMiB}M,share=on`,
    '-nodefaults',
    '-no-user-config',
    '-nographic',
    '-no-reboot',
    // QEMU's own seccomp filter on top of the launcher's: no exec, no setuid, no obsolete or
    // scheduler/resource syscalls (the set libvirt uses). Host-side pinning is done from outside.
    '-sandbox',
    'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny',
    ...(vm.consoleToStderr
      ? ['-chardev', 'stdio,id=con,signal=off', '-serial', 'chardev:con']
      : ['-serial', `file:${paths.consoleLog}`]),
    '-kernel',
    vm.kernel,
    '-initrd',
    vm.initrd,
    '-append',
    vm.cmdline.join(' '),
  ];
  for (const fs of vm.fsShares) {
    const id = `fs-${fs.tag}`;
    argv.push(
      '-chardev',
      `socket,id=${id},path=${paths.fsSocket(fs.tag)}`,
      '-device',
      `vhost-user-fs-device,chardev=${id},tag=${fs.tag}`,
    );
  }
  for (const d of vm.blockDevices) {
    argv.push(
      // QEMU option values escape a comma by doubling it. cache=writeback (QEMU's default, named
      // so it cannot drift): writes land in the host's page cache, so they outlive a killed QEMU,
      // and the guest sees a volatile write cache whose flushes QEMU turns into fdatasync().
      '-drive',
      `id=${d.id},file=${d.path.replaceAll(',', ',,')},format=raw,if=none,readonly=${d.readonly ? 'on' : 'off'},cache=writeback`,
      '-device',
      `virtio-blk-device,drive=${d.id},serial=${d.serial}`,
    );
  }
  for (const n of vm.nics) {
    const netdev =
      n.backend.kind === 'tap' ? `tap,id=${n.id},ifname=${n.backend.tap},script=no,downscript=no` : `user,id=${n.id}`;
    argv.push('-netdev', netdev, '-device', `virtio-net-device,netdev=${n.id},mac=${n.mac}`);
  }
  argv.push(
    // Two ports (0, reserved for a console, and the agent's) instead of 31: the guest sets up
    // every port's queue pair at probe, and on virtio-mmio each queue has QEMU's maximum of 1024
    // entries, so 62 unused queues cost the guest ~3.5 MiB of RAM (docs/performance.md).
    '-device',
    'virtio-serial-device,max_ports=2',
    '-chardev',
    `socket,id=agent,path=${paths.agentSocket},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
    // docker update shrinks the guest through the balloon (never below what it holds: no
    // deflate-on-oom, the host cgroup shrinks with it); free-page reporting hands pages the
    // guest freed back to the host (docs/resources.md). No standing guest-stats polling: with it,
    // a guest whose balloon inflates over memory it cannot free panicked ("System is deadlocked
    // on memory") instead of the balloon stalling; `runcvm metrics` polls only while it asks.
    '-device',
    `virtio-balloon-device,free-page-reporting=on,id=${BALLOON_ID}`,
    '-qmp',
    `unix:${paths.qmpSocket},server=on,wait=off`,
  );
  return argv;
}
