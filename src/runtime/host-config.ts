/**
 * Facts about this host, written once by `runcvm install` to <prefix>/etc/host.json and read by
 * every `create`: probing them per container would cost time on the hot path.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostNotReadyError } from '../contracts/errors.ts';

export interface HostConfig {
  /** Absolute path of the runc binary Docker would otherwise use. */
  runc: string;
  node: string;
  /** Host-wide permission to fall back to TCG when /dev/kvm is unusable (dev and CI hosts). */
  allowTcg: boolean;
  /** The install-time verdict: /dev/kvm can open yet be unusable (kvm-probe.ts). */
  kvm: { usable: boolean; reason: string };
  tscKhz?: number;
  /**
   * The iptables the host (and Docker) uses, as a command that works without /etc: the
   * launcher's root has no /etc/alternatives, so `iptables` itself would not resolve there.
   */
  iptables?: string[];
  /** Top-level host dirs that are real directories (not merged-/usr symlinks) and must be bound. */
  hostDirs: string[];
  /**
   * Development only (`runcvm install --coverage-dir`): every runcvm Node process, the launcher
   * inside its container included, writes V8 coverage here (docs/testing.md, "Coverage").
   */
  coverageDir?: string;
  /** The runtime name dockerd knows this install by: what `uninstall` run from it removes. */
  runtimeName?: string;
}

export function hostConfigPath(prefix: string): string {
  return join(prefix, 'etc', 'host.json');
}

export function readHostConfig(prefix: string): HostConfig {
  const file = hostConfigPath(prefix);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new HostNotReadyError(`runcvm is not installed correctly: cannot read ${file}`, {
      cause: e,
      context: { file },
    });
  }
  const c = JSON.parse(text) as Partial<HostConfig>;
  if (typeof c.runc !== 'string' || typeof c.node !== 'string')
    throw new HostNotReadyError(`${file}: runc/node paths missing`, { context: { file } });
  return {
    runc: c.runc,
    node: c.node,
    allowTcg: c.allowTcg === true,
    kvm: c.kvm ?? { usable: false, reason: 'never probed: re-run runcvm install' },
    tscKhz: c.tscKhz,
    iptables: c.iptables,
    hostDirs: c.hostDirs ?? [],
    ...(typeof c.coverageDir === 'string' ? { coverageDir: c.coverageDir } : {}),
    ...(typeof c.runtimeName === 'string' ? { runtimeName: c.runtimeName } : {}),
  };
}
