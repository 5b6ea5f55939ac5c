/**
 * Registering runcvm with containerd's CRI plugin: a runtime handler `runcvm` that is the runc
 * shim with `BinaryName` = runcvm-runtime (what a Kubernetes RuntimeClass with handler runcvm
 * selects), started through runcvm's shim (`runtime_path` = containerd-shim-runcvm-v2, a proxy in
 * front of containerd-shim-runc-v2 that answers Task.Stats of pod-VM containers from the guest;
 * `runtime_type` stays the runc shim's, so the CRI plugin treats the handler as runc in every
 * other respect). The block is appended between markers, so uninstall removes exactly what install
 * added; the rest of config.toml is never rewritten. containerd reads its config only at start.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

export function runtimeBlock(version: number, name: string, binary: string, shim: string): string {
  const t = `${criRuntimesTable(version)}.${name}`;
  return `${BEGIN}\n[${t}]\n  runtime_type = "io.containerd.runc.v2"\n  runtime_path = "${shim}"\n  [${t}.options]\n    BinaryName = "${binary}"\n${END}\n`;
}

export function withoutRuncvm(text: string): string {
  const re = new RegExp(`\\n?${escapeRegExp(BEGIN)}\\n[\\s\\S]*?${escapeRegExp(END)}\\n?`, 'g');
  return text.replace(re, '');
}

/** config.toml with the runcvm handler (replacing an older block of ours); refuses a hand-written one. */
export function withRuncvm(text: string | undefined, name: string, binary: string, shim: string, file: string): string {
  const base = text === undefined || text.trim() === '' ? 'version = 2\n' : withoutRuncvm(text);
  const version = configVersion(base);
  const table = `${criRuntimesTable(version)}.${name}`;
  if (base.includes(`[${table}]`)) {
    throw new Error(
      `${file} already defines [${table}] outside runcvm's markers: edit it by hand (BinaryName = "${binary}")`,
    );
  }
  if (/disabled_plugins\s*=\s*\[[^\]]*"(cri|io\.containerd\.grpc\.v1\.cri)"/.test(base)) {
    throw new Error(
      `${file} disables containerd's CRI plugin (disabled_plugins): enable it for Kubernetes, then re-run install`,
    );
  }
  return `${base.replace(/\n*$/, '\n')}\n${runtimeBlock(version, name, binary, shim)}`;
}

/** What doctor reports about one containerd config file. */
export function runcvmHandler(text: string, name: string): { binary?: string } | undefined {
  const table = `${criRuntimesTable(configVersion(text))}.${name}`;
  const at = text.indexOf(`[${table}]`);
  if (at < 0) return undefined;
  const m = /BinaryName\s*=\s*"([^"]*)"/.exec(text.slice(at));
  return { binary: m?.[1] };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** install: adds (or refreshes) the handler in FILE; returns whether the file changed. */
export function configureContainerd(file: string, binary: string, shim: string): boolean {
  const cur = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const next = withRuncvm(cur, 'runcvm', binary, shim, file);
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
