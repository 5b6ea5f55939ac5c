/**
 * `runcvm-runtime create`: validate the RUNCVM_* options and the host, rewrite the bundle so the
 * container's PID 1 is the launcher, then hand the same argv to runc. Every check happens before
 * anything is written, so a refused container leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { envValue, parseOciSpec, type OciSpec } from '../oci/spec.ts';
import { type LaunchSpec, PREFIX_IN_CONTAINER } from '../launcher/launch-spec.ts';
import { chooseAccel, kvmUsable } from '../vmm/accel.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { readHostConfig, type HostConfig } from './host-config.ts';
import { lookupExecError } from './lookup-exec.ts';
import { diskSerial, parseDisks } from './disks.ts';
import { OptionError, parseOptions } from './options.ts';
import { podRole } from './pod.ts';
import { resolveInRoot } from './resolve-in-root.ts';
import { type HostDevice, isRewritten, rewriteSpec } from './rewrite.ts';
import { vmSize } from './vm-size.ts';

const VMM_DEVICES = ['/dev/kvm', '/dev/net/tun', '/dev/vhost-net'];

function hostDevices(kvm: boolean): HostDevice[] {
  return VMM_DEVICES.filter((p) => (p !== '/dev/kvm' || kvm) && existsSync(p)).map((path) => {
    const rdev = statSync(path).rdev;
    return { path, major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
  });
}

function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.runcvm-tmp`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

function kernelFiles(prefix: string, name: string): { dir: string; vmlinux: string; initramfs: string } {
  const root = join(prefix, 'kernels');
  const dir = join(root, name);
  if (!existsSync(dir)) {
    let available = '';
    try {
      available = readdirSync(root).join(', ');
    } catch {
      // No kernels at all: the message below says so.
    }
    throw new OptionError(`RUNCVM_KERNEL: no kernel "${name}" under ${root} (available: ${available || 'none, reinstall runcvm'})`);
  }
  return { dir, vmlinux: join(dir, 'vmlinux'), initramfs: join(dir, 'initramfs.cpio') };
}

/** Everything `create` decides, computed without side effects. */
export function planCreate(spec: OciSpec, args: RuntimeArgs, prefix: string, host: HostConfig, now: number) {
  const env = spec.process.env ?? [];
  const opts = parseOptions(env);
  const disks = parseDisks(envValue(env, 'RUNCVM_DISKS')).map((d, i) => ({ ...d, serial: diskSerial(i) }));
  const kvm = kvmUsable();
  const accel = chooseAccel(opts.accel, { devKvm: kvm, probe: host.kvm, hostAllowsTcg: host.allowTcg });
  const kernel = kernelFiles(prefix, opts.kernel);
  DRIVERS[opts.hypervisor].checkHost({ kvm, kernel: kernel.vmlinux, initrd: kernel.initramfs, env });
  const size = vmSize(spec.linux?.resources);
  const specDir = join(args.bundle, 'runcvm');
  const rewritten = rewriteSpec(spec, {
    runtimeRoot: join(prefix, 'rt'),
    prefix,
    specDir,
    nodePath: host.node,
    devices: hostDevices(accel === 'kvm'),
    hostDirs: host.hostDirs,
    resolve: (dest) => resolveInRoot(spec.root.path, dest),
  });
  const p = rewritten.process;
  const mountDests = rewritten.mounts.map((m) => m.destination);
  const execError = lookupExecError(spec.root.path, p.args[0] as string, envValue(p.env, 'PATH'), p.cwd, mountDests);
  if (execError) throw new OptionError(`unable to start container process: ${execError}`);
  const inContainer = (f: string) => f.replace(prefix, PREFIX_IN_CONTAINER);
  const launch: LaunchSpec = {
    version: 1,
    containerId: args.containerId,
    hypervisor: opts.hypervisor,
    accel,
    kernel: { vmlinux: inContainer(kernel.vmlinux), initramfs: inContainer(kernel.initramfs) },
    cpus: size.cpus,
    memoryMiB: size.memoryMiB,
    ...(size.hostCpus ? { hostCpus: size.hostCpus } : {}),
    tscKhz: host.tscKhz,
    kernelAppend: opts.kernelAppend,
    kernelDebug: opts.kernelDebug,
    runtimeDebug: opts.runtimeDebug,
    hostname: spec.hostname ?? '',
    rootfs: spec.root.path,
    network: networkMode(spec),
    iptables: host.iptables,
    rootReadonly: rewritten.rootReadonly,
    mounts: withShm(rewritten.mounts, rewritten.shmSizeBytes),
    disks,
    process: p,
    timing: { createStartMs: now, createEndMs: 0 },
  };
  return { launch, config: rewritten.spec, specDir, accel };
}

/** runc joins an existing netns when the spec names a path (host, container:X) or has none at all. */
export function networkMode(spec: OciSpec, hostNetns: (path: string) => boolean = isHostNetns): LaunchSpec['network'] {
  const ns = spec.linux?.namespaces?.find((n) => n.type === 'network');
  if (!ns) return 'shared';
  if (!ns.path) return 'own';
  // A named netns (/run/netns/…: Podman's, or a Kubernetes pod's made by CNI) was created for
  // this container or its pod and may be handed to the VM; /proc/<pid>/ns/net is another
  // running container's (docker --network container:X), and the host's must never be touched.
  if (hostNetns(ns.path) || ns.path.startsWith('/proc/')) return 'shared';
  return 'own';
}

function isHostNetns(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync('/proc/1/ns/net');
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** The guest makes its own /dev/shm; Docker's --shm-size decides its size. */
function withShm(mounts: LaunchSpec['mounts'], bytes: number | undefined): LaunchSpec['mounts'] {
  if (mounts.some((m) => m.destination === '/dev/shm')) return mounts;
  const size = bytes ? `,size=${Math.floor(bytes / 1024)}k` : '';
  return [{ kind: 'tmpfs', destination: '/dev/shm', flags: 2 | 4 | 8, data: `mode=1777${size}` }, ...mounts];
}

export function create(args: RuntimeArgs, argv: string[], prefix: string, log: (level: 'warning' | 'error', msg: string) => void): number {
  const start = Date.now();
  const configPath = join(args.bundle, 'config.json');
  const host = readHostConfig(prefix);
  const spec = parseOciSpec(readFileSync(configPath, 'utf8'), configPath);
  // Docker passes an absolute overlay path; containerd and Podman pass "rootfs", relative to the bundle.
  spec.root.path = resolve(args.bundle, spec.root.path);
  // A Kubernetes pod sandbox (pause) stays a plain runc container (pod.ts).
  if (!isRewritten(spec) && podRole(spec).kind !== 'sandbox') {
    const plan = planCreate(spec, args, prefix, host, start);
    if (plan.accel === 'tcg') log('warning', `container ${args.containerId}: no usable /dev/kvm, the VM runs under TCG software emulation (slow)`);
    mkdirSync(plan.specDir, { recursive: true, mode: 0o700 });
    plan.launch.timing.createEndMs = Date.now();
    writeAtomic(join(plan.specDir, 'spec.json'), JSON.stringify(plan.launch), 0o600);
    writeAtomic(configPath, JSON.stringify(plan.config), 0o600);
  }
  const r = spawnSync(host.runc, argv, { stdio: 'inherit' });
  if (r.error) throw new Error(`running ${host.runc}: ${r.error.message}`);
  return r.status ?? 128 + 9;
}
