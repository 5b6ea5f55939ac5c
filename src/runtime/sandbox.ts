/**
 * The launcher's sandbox: what runc gives the container's PID 1 (the launcher, then QEMU,
 * virtiofsd, diod, ip and iptables) on the host. It is fixed by runcvm, whatever the user passed
 * (--privileged, --cap-add, --security-opt seccomp=unconfined, --device, --pid host): those
 * flags describe the *guest's* privileges, which the VM boundary contains, and must never widen
 * what a compromised VMM can do to the host (docs/security.md).
 */

import type { NetworkMode } from '../contracts/kinds.ts';
import type { OciDevice, OciDeviceCgroup, OciLinux, OciMount, OciSeccomp } from '../oci/spec.ts';

/**
 * What the launcher's programs need and nothing more: virtiofsd serves the guest's file
 * operations as the guest's users (CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETFCAP, MKNOD,
 * SETUID/SETGID, and SETPCAP to drop its own), virtiofsd and diod chroot, diod listens on 564.
 * MKNOD is safe because the device cgroup below refuses every node but the VMM's.
 */
const BASE_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
];

/**
 * Only where the container has a network namespace of its own does the launcher reshape it
 * (tap, bridge, addresses handed to the guest, port redirects, hot-plug of later networks):
 * NET_ADMIN, and NET_RAW for iptables. In a shared namespace (--network host, container:X, a
 * pod's) the guest uses QEMU's user-mode network and the launcher must not touch the namespace.
 */
export function launcherCaps(network: NetworkMode): string[] {
  return network === 'own' ? [...BASE_CAPS, 'CAP_NET_ADMIN', 'CAP_NET_RAW'] : [...BASE_CAPS];
}

export interface HostDevice {
  path: string;
  major: number;
  minor: number;
}

/** The character devices every process expects (null, zero, full, random, urandom, tty, ptmx, pts). */
const STANDARD_DEVICES: OciDeviceCgroup[] = [
  ...[
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 1],
    [5, 2],
  ].map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

/**
 * Deny everything first, then allow the standard nodes and the VMM's devices (kvm, net/tun,
 * vhost-net): Docker's own rules are dropped, since under --privileged they allow every device
 * of the host.
 */
export function deviceRules(devices: readonly HostDevice[]): OciDeviceCgroup[] {
  return [
    { allow: false, access: 'rwm' },
    ...STANDARD_DEVICES,
    ...devices.map((d): OciDeviceCgroup => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' })),
  ];
}

export function deviceNodes(devices: readonly HostDevice[]): OciDevice[] {
  return devices.map((d) => ({
    type: 'c',
    path: d.path,
    major: d.major,
    minor: d.minor,
    fileMode: 0o660,
    uid: 0,
    gid: 0,
  }));
}

/** Docker's default lists (moby's oci/defaults.go), applied even under --privileged. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** /sys and its cgroup tree are read-only for the launcher (Docker makes them writable under --privileged). */
export function hardenMount(m: OciMount): OciMount {
  if (m.destination !== '/sys' && m.destination !== '/sys/fs/cgroup') return m;
  return { ...m, options: [...(m.options ?? []).filter((o) => o !== 'rw' && o !== 'ro'), 'ro'] };
}

const CLONE_NEWTIME = 0x80;
const CLONE_NEWNS = 0x20000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWUTS = 0x04000000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;
const NAMESPACE_FLAGS = [
  CLONE_NEWTIME,
  CLONE_NEWNS,
  CLONE_NEWCGROUP,
  CLONE_NEWUTS,
  CLONE_NEWIPC,
  CLONE_NEWUSER,
  CLONE_NEWPID,
  CLONE_NEWNET,
];
const EPERM = 1;
const ENOSYS = 38;

/**
 * Kernel interfaces no program of the launcher uses and that widen the host kernel's attack
 * surface (module loading, BPF, keyrings, perf, io_uring, userfaultfd, file handles, mounts,
 * namespace switching, tracing other processes, the clock, swap, reboot). Most already need a
 * capability the launcher lacks; refusing them here also holds inside any namespace that
 * could grant one.
 */
const DENIED = [
  'acct',
  'add_key',
  'bpf',
  'clock_adjtime',
  'clock_settime',
  'create_module',
  'delete_module',
  'finit_module',
  'fsconfig',
  'fsmount',
  'fsopen',
  'fspick',
  'get_kernel_syms',
  'init_module',
  'io_uring_enter',
  'io_uring_register',
  'io_uring_setup',
  'ioperm',
  'iopl',
  'kcmp',
  'kexec_file_load',
  'kexec_load',
  'keyctl',
  'lookup_dcookie',
  'mount',
  'mount_setattr',
  'move_mount',
  'name_to_handle_at',
  'nfsservctl',
  'open_by_handle_at',
  'open_tree',
  'perf_event_open',
  'pivot_root',
  'process_vm_readv',
  'process_vm_writev',
  'ptrace',
  'query_module',
  'quotactl',
  'quotactl_fd',
  'reboot',
  'request_key',
  'setns',
  'settimeofday',
  'stime',
  'swapoff',
  'swapon',
  'syslog',
  'umount',
  'umount2',
  'uselib',
  'userfaultfd',
  'vm86',
  'vm86old',
  'vhangup',
];

const ARCHES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64'],
  arm64: ['SCMP_ARCH_AARCH64'],
};

/**
 * runcvm's own seccomp profile for the launcher: everything but the list above, and no new
 * namespace of any type (virtiofsd's unshare(CLONE_FS) per thread is still allowed). clone3
 * answers ENOSYS, as in Docker's profile, so libc falls back to clone, whose flags a filter can
 * see. Only the native ABI is allowed: a 32-bit syscall table would bypass the name rules.
 */
export function launcherSeccomp(arch: string = process.arch): OciSeccomp {
  const architectures = ARCHES[arch];
  if (!architectures)
    throw new Error(
      `launcher seccomp profile: unsupported host architecture "${arch}" (supported: ${Object.keys(ARCHES).join(', ')})`,
    );
  const flagRules = (name: string) =>
    NAMESPACE_FLAGS.map((flag) => ({
      names: [name],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    }));
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures,
    syscalls: [
      { names: DENIED, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      ...flagRules('unshare'),
      ...flagRules('clone'),
    ],
  };
}

/**
 * The launcher never shares the host's (or another container's) PID, IPC, UTS or cgroup
 * namespace, whatever --pid/--ipc/--uts asked: the workload lives in the guest, where those
 * flags cannot reach, and with them the launcher could signal or map host processes' memory.
 * The network namespace is the one thing it must join (networking, docs/networking.md).
 */
export function privateNamespaces(linux: OciLinux | undefined): OciLinux['namespaces'] {
  const shared = new Set(['pid', 'ipc', 'uts', 'cgroup', 'mount']);
  const out = (linux?.namespaces ?? []).map((n) => (shared.has(n.type) ? { type: n.type } : n));
  for (const type of ['pid', 'ipc', 'uts', 'mount']) {
    if (!out.some((n) => n.type === type)) out.push({ type });
  }
  return out;
}
