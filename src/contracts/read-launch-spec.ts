/**
 * The one reader of spec.json in TypeScript, used by every Node process that reads it (launcher,
 * write-back VM, runtime update; the exec verb's C program, src/runtime/exec-prep, checks the
 * version and reads only rootfs and the mount destinations). spec.json is written by `create` of possibly another runcvm
 * version (a container created before an upgrade), so its version is checked and its shape
 * validated here, once, instead of being trusted by a cast in each reader.
 */
import { readFileSync } from 'node:fs';
import { RuncvmError } from './errors.ts';
import { ACCELS, HYPERVISORS } from './kinds.ts';
import { LAUNCH_SPEC_VERSION, type LaunchSpec } from './launch-spec.ts';

type Check = [field: string, ok: (v: unknown) => boolean, expected: string];

const isString = (v: unknown) => typeof v === 'string';
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown) => typeof v === 'boolean';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isArray = (v: unknown) => Array.isArray(v);
const oneOf = (allowed: readonly string[]) => (v: unknown) => typeof v === 'string' && allowed.includes(v);
const optional = (ok: (v: unknown) => boolean) => (v: unknown) => v === undefined || ok(v);

const TOP: Check[] = [
  ['containerId', isString, 'a string'],
  ['hypervisor', oneOf(HYPERVISORS), HYPERVISORS.join(' or ')],
  ['accel', oneOf(ACCELS), ACCELS.join(' or ')],
  [
    'kernel',
    (v) => isObject(v) && isString(v.vmlinux) && isString(v.initramfs),
    'an object with vmlinux and initramfs',
  ],
  ['cpus', isNumber, 'a number'],
  ['memoryMiB', isNumber, 'a number'],
  ['hostCpus', optional(isArray), 'an array'],
  ['tscKhz', optional(isNumber), 'a number'],
  ['kernelAppend', isString, 'a string'],
  ['kernelDebug', isBool, 'a boolean'],
  ['runtimeDebug', isBool, 'a boolean'],
  ['hostname', isString, 'a string'],
  ['rootfs', isString, 'a string'],
  ['rootReadonly', isBool, 'a boolean'],
  [
    'rootImage',
    optional((v) => isObject(v) && v.mode === 'image' && isArray(v.lowers) && isString(v.upper)),
    'an image root (mode, lowers, upper)',
  ],
  ['network', oneOf(['own', 'shared']), 'own or shared'],
  [
    'mounts',
    (v) => isArray(v) && (v as unknown[]).every((m) => isObject(m) && isString(m.kind) && isString(m.destination)),
    'an array of mounts',
  ],
  ['volumes', optional(isObject), 'an object'],
  ['disks', optional(isArray), 'an array'],
  ['vmmBinary', optional(isString), 'a string'],
  ['hostPrefix', optional(isString), 'a string'],
  [
    'process',
    (v) => isObject(v) && isArray(v.args) && isArray(v.env) && isString(v.cwd) && isNumber(v.uid) && isNumber(v.gid),
    'a process (args, env, cwd, uid, gid)',
  ],
  ['timing', isObject, 'an object'],
  ['portForward', optional(isBool), 'a boolean'],
];

/** Validates parsed spec.json content; `file` names it in errors. */
export function parseLaunchSpec(value: unknown, file: string): LaunchSpec {
  const context = { file, step: 'reading the launch spec' };
  if (!isObject(value)) throw new RuncvmError('internal', `${file}: not a JSON object`, { context });
  if (value.version !== LAUNCH_SPEC_VERSION) {
    throw new RuncvmError(
      'host-not-ready',
      `${file}: launch spec version ${JSON.stringify(value.version)}, this runcvm reads version ${LAUNCH_SPEC_VERSION} (the container was created by another runcvm version: recreate it)`,
      { context },
    );
  }
  for (const [field, ok, expected] of TOP) {
    if (!ok(value[field])) throw new RuncvmError('internal', `${file}: ${field}: expected ${expected}`, { context });
  }
  return value as unknown as LaunchSpec;
}

/** Reads and validates spec.json at `file`. */
export function readLaunchSpec(file: string): LaunchSpec {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RuncvmError('internal', `${file}: cannot read the launch spec`, { cause: e, context: { file } });
  }
  return parseLaunchSpec(value, file);
}
