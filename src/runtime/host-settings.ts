/**
 * The host administrator's settings (<prefix>/etc/config.json): what only the owner of the host
 * may decide because it runs, or costs, outside any container (docs/security.md, trust model).
 * A container can only pick among what these allow; a RUNCVM_* variable naming one of them is
 * refused by options.ts, since a variable can come from an untrusted image's ENV.
 */
import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { HostNotReadyError } from '../contracts/errors.ts';
import { parseCacheMax } from '../rootfs/cache.ts';

export interface HostSettings {
  /** Absolute path of the firecracker binary; undefined: looked up in the runtime's PATH. */
  firecracker?: string;
  /** Size cap of the image cache in bytes (LRU eviction after each build). */
  cacheMaxBytes: number;
  /** Run Firecracker under its jailer. */
  jailer: boolean;
  /**
   * Kubernetes pods under CRI (runtime/pod-vm.ts): "vm", one VM per pod that every container of
   * the pod runs in; "per-container", a VM per app container beside a runc sandbox (no inbound
   * traffic to the pod IP, no shared localhost: docs/engines.md).
   */
  pods: PodsMode;
}

export const PODS_MODES = ['vm', 'per-container'] as const;
export type PodsMode = (typeof PODS_MODES)[number];

/** The container-visible variable each setting replaced, for the refusal message. */
export const HOST_ONLY_OPTIONS: Readonly<Record<string, keyof HostSettings | 'cacheMax'>> = {
  RUNCVM_FIRECRACKER: 'firecracker',
  RUNCVM_CACHE_MAX: 'cacheMax',
  RUNCVM_JAILER: 'jailer',
};

const KEYS = ['firecracker', 'cacheMax', 'jailer', 'pods'] as const;

/** The host settings file is unreadable or invalid: the administrator must fix it. */
export class HostSettingsError extends HostNotReadyError {}

export function hostSettingsPath(prefix: string): string {
  return join(prefix, 'etc', 'config.json');
}

export const DEFAULT_SETTINGS: HostSettings = { cacheMaxBytes: parseCacheMax(undefined), jailer: false, pods: 'vm' };

/** The file install writes when there is none: every key with its default, for the admin to edit. */
export function defaultSettingsFile(): string {
  return `${JSON.stringify({ cacheMax: '20g', jailer: false, pods: 'vm' }, null, 2)}\n`;
}

/** Validates the parsed file: unknown keys and wrong types are errors naming the key and the allowed values. */
export function parseHostSettings(raw: unknown, file: string): HostSettings {
  const fail = (msg: string): never => {
    throw new HostSettingsError(`${file}: ${msg}`);
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('must be a JSON object');
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(k)) fail(`unknown key "${k}" (known: ${KEYS.join(', ')})`);
  }
  const out: HostSettings = { ...DEFAULT_SETTINGS };
  if (o.firecracker !== undefined) {
    if (typeof o.firecracker !== 'string' || !isAbsolute(o.firecracker) || /[\0\n]/.test(o.firecracker)) {
      fail(`"firecracker": must be an absolute path (got ${JSON.stringify(o.firecracker)})`);
    }
    out.firecracker = o.firecracker as string;
  }
  if (o.cacheMax !== undefined) {
    if (typeof o.cacheMax !== 'string' && typeof o.cacheMax !== 'number')
      fail('"cacheMax": a size such as "20g", "500m" or 0');
    try {
      out.cacheMaxBytes = parseCacheMax(String(o.cacheMax), '"cacheMax"');
    } catch (e) {
      fail((e as Error).message);
    }
  }
  if (o.jailer !== undefined) {
    if (typeof o.jailer !== 'boolean') fail(`"jailer": must be true or false (got ${JSON.stringify(o.jailer)})`);
    out.jailer = o.jailer as boolean;
  }
  if (o.pods !== undefined) {
    if (!(PODS_MODES as readonly unknown[]).includes(o.pods))
      fail(`"pods": must be one of ${PODS_MODES.map((m) => `"${m}"`).join(', ')} (got ${JSON.stringify(o.pods)})`);
    out.pods = o.pods as PodsMode;
  }
  return out;
}

/**
 * Reads the settings; a missing file means the defaults (an install from before the file existed).
 * The file must be a regular file, not a link: it decides what runs as host root.
 */
export function readHostSettings(prefix: string): HostSettings {
  const file = hostSettingsPath(prefix);
  let st: Stats;
  try {
    st = lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_SETTINGS };
    throw new HostSettingsError(file, { cause: e, context: { file } });
  }
  if (!st.isFile()) throw new HostSettingsError(`${file}: not a regular file`);
  if (st.uid !== 0 || (st.mode & 0o022) !== 0)
    throw new HostSettingsError(`${file}: must be owned by root and not writable by group or others`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HostSettingsError(`${file}: not valid JSON`, { cause: e, context: { file } });
  }
  return parseHostSettings(raw, file);
}
