/**
 * Whether KVM really works on this host. A /dev/kvm that opens can still be unusable: under
 * some nested hypervisors QEMU aborts on an MSR it cannot set, or the guest boots at a crawl
 * (measured here: >40 s to the kernel's first lines, against ~1.5 s under TCG). So install
 * boots the real guest kernel once under KVM with an init that powers off at once.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kvmUsable } from '../vmm/accel.ts';
import { qemuArgv, qemuPaths } from '../vmm/qemu/argv.ts';
import { QEMU_BINARY } from '../vmm/qemu/driver.ts';
import { guestCmdline } from '../vmm/vm-spec.ts';

export interface KvmVerdict {
  usable: boolean;
  reason: string;
}

const PROBE_TIMEOUT_MS = 15_000;

export function probeKvm(kernel: string, initrd: string): KvmVerdict {
  if (!kvmUsable()) return { usable: false, reason: '/dev/kvm is missing or cannot be opened read-write' };
  const runDir = mkdtempSync(join(tmpdir(), 'runcvm-kvm-probe-'));
  try {
    const argv = qemuArgv(
      {
        name: 'runcvm-kvm-probe',
        accel: 'kvm',
        cpus: 1,
        memoryMiB: 128,
        kernel,
        initrd,
        cmdline: [...guestCmdline({ accel: 'kvm', debug: false, kernelDebug: false, append: '' }), 'runcvm.poweroff=1'],
        fsShares: [],
        blockDevices: [],
        nics: [],
        runDir,
        consoleToStderr: false,
      },
      qemuPaths(runDir),
    );
    const t0 = Date.now();
    const r = spawnSync(QEMU_BINARY, argv, {
      timeout: PROBE_TIMEOUT_MS,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (r.error || r.signal)
      return {
        usable: false,
        reason: `a test VM did not power off within ${PROBE_TIMEOUT_MS / 1000} s under KVM (nested virtualisation?)`,
      };
    if (r.status !== 0) {
      const why = (r.stderr ?? '').trim().split('\n').slice(-2).join(' / ');
      return { usable: false, reason: `qemu failed under KVM: ${why || `exit ${r.status}`}` };
    }
    return { usable: true, reason: `a test VM booted and powered off under KVM in ${secs} s` };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}
