/**
 * What a container start needs from the host, as facts (gathered once, with I/O, in
 * host-facts.ts) turned into checks here (pure, unit-tested): the VMM and file-server binaries,
 * KVM or the permission to use TCG, the devices the launcher passes into the container, the
 * cgroup tree, the guest kernels, the host settings and the image cache.
 */
import type { Check } from './checks.ts';
import type { ComponentVersion } from './component-versions.ts';

export interface KernelFacts {
  name: string;
  dir: string;
  /** Files missing or empty among vmlinux and initramfs.cpio. */
  missing: string[];
  vmlinuxIsElf: boolean;
  release?: string;
  agent: ComponentVersion;
}

export interface HostFacts {
  runcvm: string;
  installed: boolean;
  /** `<prefix>/bin/runcvm-runtime --version`, first line. */
  dispatcher?: ComponentVersion;
  /** Problem reading <prefix>/etc/host.json or config.json. */
  hostConfigError?: string;
  settingsError?: string;
  required: ComponentVersion[];
  /** Needed by one mode only: name → the mode, for the message. */
  optional: { component: ComponentVersion; neededFor: string }[];
  devKvm: { exists: boolean; openRw: boolean };
  kvmProbe?: { usable: boolean; reason: string };
  allowTcg: boolean;
  devices: { path: string; exists: boolean }[];
  cgroup: { version: 1 | 2; memoryController: boolean };
  kernels: KernelFacts[];
  cache: { dir: string; images: number; bytes: number; maxBytes: number; error?: string };
}

const GIB = 1024 ** 3;

function size(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Debian package names for the fix hints (Debian 12 is the host runcvm is built and tested on). */
const PACKAGES: Record<string, string> = {
  qemu: 'qemu-system-x86',
  virtiofsd: 'qemu-system-common',
  runc: 'runc',
  node: 'nodejs',
  'mkfs.ext4': 'e2fsprogs',
  diod: 'diod',
  busybox: 'busybox-static',
  firecracker: '',
};

function componentCheck(c: ComponentVersion, failStatus: 'fail' | 'warn' | 'info', neededFor?: string): Check {
  if (c.version) return { name: c.name, status: 'ok', message: `${c.path}: ${c.version}` };
  const pkg = PACKAGES[c.name];
  const why = neededFor ? ` (needed for ${neededFor})` : '';
  return {
    name: c.name,
    status: failStatus,
    message: `${c.error ?? 'not found'}${why}`,
    ...(failStatus === 'info' ? {} : { fix: pkg ? `apt-get install ${pkg}` : `install ${c.name} at ${c.path}` }),
  };
}

function installChecks(f: HostFacts): Check[] {
  if (!f.installed)
    return [
      {
        name: 'runtime',
        status: 'fail',
        message: 'runcvm-runtime is not installed under this prefix',
        fix: 'runcvm install (or give --prefix DIR)',
      },
    ];
  const out: Check[] = [];
  const d = f.dispatcher;
  if (d?.version === f.runcvm)
    out.push({ name: 'runtime', status: 'ok', message: `${d.path}: runcvm-runtime ${d.version}` });
  else if (d?.version)
    out.push({
      name: 'runtime',
      status: 'fail',
      message: `${d.path} is runcvm ${d.version}, this runcvm is ${f.runcvm}`,
      fix: 'runcvm install (the installed runtime is from another build)',
    });
  else
    out.push({
      name: 'runtime',
      status: 'fail',
      message: d?.error ?? 'runcvm-runtime --version failed',
      fix: 'runcvm install',
    });
  if (f.hostConfigError)
    out.push({
      name: 'host-config',
      status: 'fail',
      message: f.hostConfigError,
      fix: 'runcvm install (writes <prefix>/etc/host.json)',
    });
  if (f.settingsError)
    out.push({
      name: 'settings',
      status: 'fail',
      message: f.settingsError,
      fix: 'correct the file (docs/security.md lists its keys)',
    });
  else out.push({ name: 'settings', status: 'ok', message: 'host settings valid' });
  return out;
}

function accelCheck(f: HostFacts): Check {
  const kvm = f.devKvm;
  const probe = f.kvmProbe;
  if (kvm.openRw && probe?.usable) return { name: 'kvm', status: 'ok', message: `/dev/kvm usable: ${probe.reason}` };
  const why = !kvm.exists
    ? '/dev/kvm does not exist'
    : !kvm.openRw
      ? '/dev/kvm cannot be opened read-write'
      : `/dev/kvm opens but a test VM failed: ${probe?.reason ?? 'never probed'}`;
  const hint = !kvm.exists
    ? 'enable virtualisation (VT-x/AMD-V, nested virtualisation on a VM) and load kvm_intel or kvm_amd'
    : !kvm.openRw
      ? 'run as root or give the runtime access to /dev/kvm'
      : 'runcvm doctor --reprobe after fixing the host';
  if (f.allowTcg)
    return {
      name: 'kvm',
      status: 'warn',
      message: `${why}; TCG allowed: VMs run under software emulation, many times slower`,
      fix: hint,
    };
  return {
    name: 'kvm',
    status: 'fail',
    message: `${why}; TCG not allowed, so containers fail unless run with -e RUNCVM_ACCEL=tcg`,
    fix: `${hint}; or allow TCG host-wide: runcvm install --allow-tcg`,
  };
}

function deviceChecks(f: HostFacts): Check[] {
  return f.devices.map(({ path, exists }): Check => {
    if (exists) return { name: path.slice(5), status: 'ok', message: `${path} present` };
    if (path === '/dev/net/tun')
      return {
        name: 'net/tun',
        status: 'fail',
        message: "/dev/net/tun missing: the VM's NICs are taps",
        fix: 'modprobe tun',
      };
    if (path === '/dev/vhost-net')
      return {
        name: 'vhost-net',
        status: 'warn',
        message: "/dev/vhost-net missing: guest networking runs in QEMU's own thread (slower)",
        fix: 'modprobe vhost_net',
      };
    return {
      name: path.slice(5),
      status: 'info',
      message: `${path} missing: the agent channel uses virtio-serial on QEMU (Firecracker needs vsock: modprobe vhost_vsock)`,
    };
  });
}

function kernelChecks(f: HostFacts): Check[] {
  if (f.kernels.length === 0)
    return [
      {
        name: 'guest',
        status: 'fail',
        message: 'no guest kernel installed under <prefix>/kernels',
        fix: 'runcvm install --guest DIR',
      },
    ];
  return f.kernels.map((k): Check => {
    const name = `guest:${k.name}`;
    if (k.missing.length)
      return {
        name,
        status: 'fail',
        message: `${k.dir}: missing or empty: ${k.missing.join(', ')}`,
        fix: 'runcvm install --guest DIR (a directory built by guest/build.sh)',
      };
    if (!k.vmlinuxIsElf)
      return {
        name,
        status: 'fail',
        message: `${k.dir}/vmlinux is not an ELF kernel (QEMU and Firecracker boot the ELF vmlinux)`,
        fix: 'runcvm install --guest DIR',
      };
    const agent = k.agent.version ? `agent ${k.agent.version}` : `agent version unknown (${k.agent.error})`;
    const msg = `${k.dir}: kernel ${k.release ?? '(no kernel.release)'}, ${agent}`;
    if (k.agent.version && k.agent.version !== f.runcvm)
      return {
        name,
        status: 'warn',
        message: `${msg}, runcvm is ${f.runcvm}`,
        fix: 'runcvm install --guest DIR with a guest built from this runcvm',
      };
    return { name, status: 'ok', message: msg };
  });
}

function cgroupCheck(f: HostFacts): Check {
  const mem = f.cgroup.memoryController
    ? 'memory controller on'
    : 'NO memory controller: -m and docker update cannot limit the VM';
  const status = f.cgroup.memoryController ? 'ok' : 'warn';
  return {
    name: 'cgroup',
    status,
    message: `cgroup v${f.cgroup.version}, ${mem}`,
    ...(status === 'warn' ? { fix: 'boot with cgroup_enable=memory' } : {}),
  };
}

function cacheCheck(f: HostFacts): Check {
  const c = f.cache;
  if (c.error)
    return { name: 'cache', status: 'warn', message: `${c.dir}: ${c.error}`, fix: `check the permissions of ${c.dir}` };
  const msg = `${c.dir}: ${c.images} image(s), ${size(c.bytes)} of ${size(c.maxBytes)}`;
  if (c.bytes > c.maxBytes)
    return { name: 'cache', status: 'warn', message: `${msg}: over its cap`, fix: 'runcvm cache prune' };
  return { name: 'cache', status: 'ok', message: msg };
}

export function hostChecks(f: HostFacts): Check[] {
  return [
    ...installChecks(f),
    ...f.required.map((c) => componentCheck(c, 'fail')),
    ...f.optional.map(({ component, neededFor }) =>
      componentCheck(component, component.name === 'firecracker' ? 'info' : 'warn', neededFor),
    ),
    accelCheck(f),
    ...deviceChecks(f),
    cgroupCheck(f),
    ...kernelChecks(f),
    cacheCheck(f),
  ];
}
