/**
 * Registering runcvm with containerd's CRI plugin: a runtime handler `runcvm` (what a Kubernetes
 * RuntimeClass with handler runcvm selects) whose `runtime_type` is runcvm's shim,
 * containerd-shim-runcvm-v2 by its absolute path: containerd's runc shim with runcvm-runtime as
 * its runc, behind a proxy that answers Task.Stats of pod-VM containers from the guest
 * (src/shim). Not `runtime_path` next to the runc shim's type: containerd 1.6's CRI ignores it.
 * The shim runs the runcvm-runtime next to it, so the block needs no options. The block is appended between markers, so uninstall removes exactly what install
 * added; the rest of config.toml is never rewritten. containerd reads its config only at start.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';

export const BEGIN = '# runcvm: begin (added by `runcvm install`, removed by `runcvm uninstall`)';
export const END = '# runcvm: end';

/** The CRI plugin's table name by config schema version (containerd 1.x: 1 and 2; 2.x: 3). */
export function criRuntimesTable(version: number): string {
  if (version === 1) return 'plugins.cri.containerd.runtimes';
  if (version === 2) return 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes';
  if (version === 3) return 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes';
  throw new Error(`containerd config version ${version} is not known to runcvm (expected 1, 2 or 3)`);
}

/** containerd treats a config without `version` as version 1. */
export function configVersion(text: string): number {
  const m = /^\s*version\s*=\s*(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : 1;
}

/** The shim binary install puts next to runcvm-runtime (src/shim). */
export const SHIM_BINARY = 'containerd-shim-runcvm-v2';

export function runtimeBlock(version: number, name: string, shim: string): string {
  const t = `${criRuntimesTable(version)}.${name}`;
  return `${BEGIN}\n[${t}]\n  runtime_type = "${shim}"\n${END}\n`;
}

export function withoutRuncvm(text: string): string {
  const re = new RegExp(`\\n?${escapeRegExp(BEGIN)}\\n[\\s\\S]*?${escapeRegExp(END)}\\n?`, 'g');
  return text.replace(re, '');
}

/** config.toml with the runcvm handler (replacing an older block of ours); refuses a hand-written one. */
export function withRuncvm(text: string | undefined, name: string, shim: string, file: string): string {
  const base = text === undefined || text.trim() === '' ? 'version = 2\n' : withoutRuncvm(text);
  const version = configVersion(base);
  const table = `${criRuntimesTable(version)}.${name}`;
  if (base.includes(`[${table}]`)) {
    throw new Error(
      `${file} already defines [${table}] outside runcvm's markers: edit it by hand (runtime_type = "${shim}")`,
    );
  }
  if (/disabled_plugins\s*=\s*\[[^\]]*"(cri|io\.containerd\.grpc\.v1\.cri)"/.test(base)) {
    throw new Error(
      `${file} disables containerd's CRI plugin (disabled_plugins): enable it for Kubernetes, then re-run install`,
    );
  }
  return `${base.replace(/\n*$/, '\n')}\n${runtimeBlock(version, name, shim)}`;
}

/**
 * What doctor reports about one containerd config file: the runcvm-runtime the handler runs,
 * next to the shim its runtime_type names (or its BinaryName, in a block of an older runcvm).
 */
export function runcvmHandler(text: string, name: string): { binary?: string } | undefined {
  const table = `${criRuntimesTable(configVersion(text))}.${name}`;
  const at = text.indexOf(`[${table}]`);
  if (at < 0) return undefined;
  const rest = text.slice(at);
  const type = /runtime_type\s*=\s*"([^"]*)"/.exec(rest)?.[1];
  if (type?.startsWith('/') && basename(type) === SHIM_BINARY) return { binary: join(dirname(type), 'runcvm-runtime') };
  return { binary: /BinaryName\s*=\s*"([^"]*)"/.exec(rest)?.[1] };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** install: adds (or refreshes) the handler in FILE; returns whether the file changed. */
export function configureContainerd(file: string, shim: string): boolean {
  const cur = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const next = withRuncvm(cur, 'runcvm', shim, file);
  if (next === cur) return false;
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, next, 0o644);
  return true;
}

/** uninstall: removes what install added; returns whether the file changed. */
export function unconfigureContainerd(file: string): boolean {
  if (!existsSync(file)) return false;
  const cur = readFileSync(file, 'utf8');
  const next = withoutRuncvm(cur);
  if (next === cur) return false;
  writeFileAtomic(file, next, 0o644);
  return true;
}
