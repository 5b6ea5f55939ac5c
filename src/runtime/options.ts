/**
 * RUNCVM_* options: Docker has no flag for them, so users set them with `-e` or image ENV.
 * They are validated at `create` so a bad value fails `docker run` before anything exists.
 * This is the only reader of RUNCVM_* variables: everything downstream gets RuncvmOptions.
 * A variable can come from an untrusted image, so only what a container may choose for itself
 * is an option here; host settings (host-settings.ts) named as variables are refused.
 */

import { OptionError } from '../contracts/errors.ts';
import {
  ACCELS,
  type Accel,
  DATA_PLANES,
  type DataPlane,
  DEFAULT_DATA_PLANE,
  DEFAULT_KERNEL,
  HYPERVISORS,
  type Hypervisor,
  KERNELS,
  type KernelName,
  ROOTFS_MODES,
  type RootfsMode,
  VOLUME_MODES,
  type VolumeMode,
} from '../contracts/kinds.ts';
import { envValue } from '../oci/spec.ts';
import { type DiskOption, parseDisks } from './disks.ts';
import { HOST_ONLY_OPTIONS } from './host-settings.ts';

export { DEFAULT_KERNEL, OptionError };

/** Firecracker has no virtiofs, so its volumes can only come over the network filesystem. */
export function defaultVolumeMode(hypervisor: Hypervisor): VolumeMode {
  return hypervisor === 'firecracker' ? '9p' : 'virtiofs';
}

export interface RuncvmOptions {
  hypervisor: Hypervisor;
  /** undefined: the host default decides (see accel.ts). */
  accel: Accel | undefined;
  /** virtiofs: the image tree shared live; image: ext4 drives from the layer cache. */
  rootfs: RootfsMode;
  kernel: KernelName;
  kernelAppend: string;
  kernelDebug: boolean;
  runtimeDebug: boolean;
  volumes: VolumeMode;
  /** RUNCVM_DISKS, syntax-checked (disks.ts). */
  disks: DiskOption[];
  /** RUNCVM_TIMING: a phase-timing line on stderr at exit (npm run bench). */
  timing: boolean;
  /** RUNCVM_DATA_PLANE: the Node launcher stays, or the C supervisor takes over after boot. */
  dataPlane: DataPlane;
}

const BOOLEANS: Record<string, boolean> = { '1': true, true: true, '0': false, false: false, '': false };

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], dflt: T): T {
  if (value === undefined || value === '') return dflt;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new OptionError(`${name}: unknown value "${value}" (allowed: ${allowed.join(', ')})`);
}

function bool(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = BOOLEANS[value.toLowerCase()];
  if (v === undefined) throw new OptionError(`${name}: invalid value "${value}" (allowed: 1, 0, true, false)`);
  return v;
}

const KNOWN = new Set([
  'RUNCVM_HYPERVISOR',
  'RUNCVM_ACCEL',
  'RUNCVM_KERNEL',
  'RUNCVM_KERNEL_APPEND',
  'RUNCVM_KERNEL_DEBUG',
  'RUNCVM_RUNTIME_DEBUG',
  'RUNCVM_TIMING',
  'RUNCVM_DISKS',
  'RUNCVM_ROOTFS',
  'RUNCVM_VOLUMES',
  'RUNCVM_DATA_PLANE',
]);

/** Reads and validates every RUNCVM_* variable of the workload's environment. */
export function parseOptions(
  env: readonly string[] | undefined,
  settingsFile = '<prefix>/etc/config.json',
): RuncvmOptions {
  for (const entry of env ?? []) {
    const key = entry.split('=', 1)[0] ?? '';
    const setting = HOST_ONLY_OPTIONS[key];
    if (setting !== undefined) {
      throw new OptionError(
        `${key}: a host setting, not a container option (a container's environment may come from an untrusted image): the host administrator sets "${setting}" in ${settingsFile} (docs/security.md)`,
      );
    }
    if (key.startsWith('RUNCVM_') && !KNOWN.has(key)) {
      throw new OptionError(`${key}: unknown option (known: ${[...KNOWN].join(', ')})`);
    }
  }
  const get = (k: string) => envValue(env, k);
  const kernel = oneOf('RUNCVM_KERNEL', get('RUNCVM_KERNEL'), KERNELS, DEFAULT_KERNEL);
  const kernelAppend = get('RUNCVM_KERNEL_APPEND') ?? '';
  if (/[\n\r\0]/.test(kernelAppend) || kernelAppend.length > 1024) {
    throw new OptionError('RUNCVM_KERNEL_APPEND: must be one line of at most 1024 characters');
  }
  const accelRaw = get('RUNCVM_ACCEL');
  const hypervisor = oneOf('RUNCVM_HYPERVISOR', get('RUNCVM_HYPERVISOR'), HYPERVISORS, 'qemu');
  // Firecracker has no virtiofs: its root can only be an image.
  const rootfs = oneOf(
    'RUNCVM_ROOTFS',
    get('RUNCVM_ROOTFS'),
    ROOTFS_MODES,
    hypervisor === 'firecracker' ? 'image' : 'virtiofs',
  );
  if (hypervisor === 'firecracker' && rootfs === 'virtiofs') {
    throw new OptionError(
      'RUNCVM_ROOTFS: "virtiofs" is not available with RUNCVM_HYPERVISOR=firecracker (allowed: image)',
    );
  }
  const volumes = oneOf('RUNCVM_VOLUMES', get('RUNCVM_VOLUMES'), VOLUME_MODES, defaultVolumeMode(hypervisor));
  if (hypervisor === 'firecracker' && volumes === 'virtiofs') {
    throw new OptionError('RUNCVM_VOLUMES: virtiofs is not available with RUNCVM_HYPERVISOR=firecracker (allowed: 9p)');
  }
  return {
    hypervisor,
    rootfs,
    accel: accelRaw === undefined || accelRaw === '' ? undefined : oneOf('RUNCVM_ACCEL', accelRaw, ACCELS, 'kvm'),
    kernel,
    kernelAppend,
    kernelDebug: bool('RUNCVM_KERNEL_DEBUG', get('RUNCVM_KERNEL_DEBUG')),
    runtimeDebug: bool('RUNCVM_RUNTIME_DEBUG', get('RUNCVM_RUNTIME_DEBUG')),
    volumes,
    disks: parseDisks(get('RUNCVM_DISKS')),
    timing: bool('RUNCVM_TIMING', get('RUNCVM_TIMING')),
    dataPlane: oneOf('RUNCVM_DATA_PLANE', get('RUNCVM_DATA_PLANE'), DATA_PLANES, DEFAULT_DATA_PLANE),
  };
}
