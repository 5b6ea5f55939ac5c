/**
 * The subset of the OCI runtime spec (config.json / process.json) that runcvm reads or writes.
 * Fields we pass through untouched are kept as `unknown` so a rewrite never drops them.
 */

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  username?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: OciUser;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  rlimits?: unknown[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciDeviceCgroup {
  allow: boolean;
  type?: string;
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  kernel?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
}

export interface OciCpu {
  shares?: number;
  quota?: number;
  period?: number;
  cpus?: string;
  mems?: string;
}

export interface OciResources {
  devices?: OciDeviceCgroup[];
  memory?: OciMemory;
  cpu?: OciCpu;
  [key: string]: unknown;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  [key: string]: unknown;
}

export interface OciSeccomp {
  defaultAction: string;
  syscalls?: OciSeccompSyscall[];
  [key: string]: unknown;
}

export interface OciNamespace {
  type: string;
  path?: string;
}

export interface OciLinux {
  namespaces?: OciNamespace[];
  devices?: OciDevice[] | null;
  resources?: OciResources;
  seccomp?: OciSeccomp;
  cgroupsPath?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  /** Kernel parameters for the container's namespaces (the guest's, runtime/sysctl.ts). */
  sysctl?: Record<string, string>;
  [key: string]: unknown;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: OciMount[];
  hooks?: unknown;
  annotations?: Record<string, string> | null;
  linux?: OciLinux;
  [key: string]: unknown;
}

/** Parse a config.json we were handed, checking only what we rely on. */
export function parseOciSpec(text: string, file: string): OciSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const spec = raw as Partial<OciSpec>;
  if (typeof spec !== 'object' || spec === null) throw new Error(`${file}: not a JSON object`);
  if (!spec.root || typeof spec.root.path !== 'string') throw new Error(`${file}: root.path missing`);
  const p = spec.process;
  if (!p || !Array.isArray(p.args) || p.args.length === 0) throw new Error(`${file}: process.args missing or empty`);
  if (typeof p.cwd !== 'string') throw new Error(`${file}: process.cwd missing`);
  if (!p.user || typeof p.user.uid !== 'number' || typeof p.user.gid !== 'number') {
    throw new Error(`${file}: process.user.uid/gid missing`);
  }
  return spec as OciSpec;
}

/** Value of KEY in an OCI env list (last one wins, as execve semantics give it). */
export function envValue(env: readonly string[] | undefined, key: string): string | undefined {
  let found: string | undefined;
  for (const entry of env ?? []) {
    if (entry.startsWith(`${key}=`)) found = entry.slice(key.length + 1);
  }
  return found;
}
