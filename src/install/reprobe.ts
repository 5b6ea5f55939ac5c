/**
 * `runcvm doctor --reprobe`: boots the installed guest under KVM again (kvm-probe.ts) and
 * records the verdict in <prefix>/etc/host.json, which every `create` reads. For a host whose
 * KVM was fixed (or broke) after install, without reinstalling.
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KERNEL } from '../contracts/kinds.ts';
import { hostConfigPath } from '../runtime/host-config.ts';
import { type KvmVerdict, probeKvm } from './kvm-probe.ts';

export function reprobeKvm(prefix: string, kernel: string = DEFAULT_KERNEL): KvmVerdict {
  const file = hostConfigPath(prefix);
  let host: Record<string, unknown>;
  try {
    host = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`--reprobe: cannot read ${file} (run runcvm install first): ${(e as Error).message}`);
  }
  const dir = join(prefix, 'kernels', kernel);
  const verdict = probeKvm(join(dir, 'vmlinux'), join(dir, 'initramfs.cpio'));
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...host, kvm: verdict }, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
  return verdict;
}
