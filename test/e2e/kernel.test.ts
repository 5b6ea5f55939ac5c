/**
 * Guest kernels: every kernel `runcvm install` puts under <prefix>/kernels boots a container when
 * RUNCVM_KERNEL picks it, the runcvm kernel is the default, its initramfs carries no modules,
 * and a feature it lacks fails at once with a message naming the kernel option.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_KERNEL, KERNELS } from '../../src/contracts/kinds.ts';
import { BUSYBOX, E2E_KERNEL, hostConfig, leftovers, PREFIX, run, runVm } from './docker.ts';

const release = (kernel: string) => readFileSync(`${PREFIX}/kernels/${kernel}/kernel.release`, 'utf8').trim();

for (const kernel of KERNELS) {
  test(`RUNCVM_KERNEL=${kernel} boots that kernel`, async () => {
    const r = await runVm(['-e', `RUNCVM_KERNEL=${kernel}`, BUSYBOX, 'uname', '-r']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), release(kernel));
  });
}

test(`without RUNCVM_KERNEL the default kernel (${DEFAULT_KERNEL}) boots`, {
  skip: E2E_KERNEL ? 'the suite forces RUNCVM_KERNEL' : false,
}, async () => {
  assert.match(release('runcvm'), /-runcvm$/);
  const r = await runVm([BUSYBOX, 'uname', '-r']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), release(DEFAULT_KERNEL));
});

test('the runcvm initramfs is the agent without modules', async () => {
  const r = await run('cpio', ['-it', '--quiet', '-F', `${PREFIX}/kernels/runcvm/initramfs.cpio`]);
  assert.equal(r.code, 0, r.stderr);
  const entries = r.stdout.split('\n').filter(Boolean);
  assert.ok(entries.includes('init'), r.stdout);
  assert.deepEqual(
    entries.filter((e) => /\.ko$|^modules\//.test(e)),
    [],
  );
});

test('a feature the runcvm kernel lacks fails at once and the kernel log names its option', async () => {
  const t0 = Date.now();
  // XFS is not built into the runcvm kernel: mount asks the kernel for fs-xfs, the kernel asks
  // the agent's modprobe helper, which has no module and says which option is missing.
  const r = await runVm([
    '--privileged',
    '-e',
    'RUNCVM_KERNEL=runcvm',
    BUSYBOX,
    'sh',
    '-c',
    'mkdir -p /tmp/x; mount -t xfs /dev/null /tmp/x; echo "mount=$?"; dmesg | grep runcvm:',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mount=[1-9]/);
  assert.match(
    r.stdout,
    /the guest kernel lacks "fs-xfs": CONFIG_XFS_FS is not set in the runcvm kernel; run the container with -e RUNCVM_KERNEL=debian/,
  );
  assert.ok(Date.now() - t0 < 60_000, 'no hang');
  assert.deepEqual(await leftovers(), []);
});

test('under TCG the runcvm kernel takes the APIC timer and CPU rates from QEMU and keeps time', {
  skip: hostConfig().kvm.usable ? 'KVM guests have a TSC-deadline timer: nothing is calibrated' : false,
}, async () => {
  // `apic=verbose` makes the kernel say how its local APIC timer got its rate: "already
  // calibrated" is runcvm.apic_khz (guest/kernel/patches), "calibrating APIC timer" the 100 ms
  // PIT calibration it replaces. A wrong rate would show in sleep's wall time.
  const r = await runVm([
    '--privileged',
    '-e',
    'RUNCVM_KERNEL=runcvm',
    '-e',
    'RUNCVM_KERNEL_APPEND=apic=verbose',
    BUSYBOX,
    'sh',
    '-c',
    'dmesg | grep -iE "apic timer|tsc"; a=$(awk "{print int(\\$1 * 1000)}" /proc/uptime); sleep 1; b=$(awk "{print int(\\$1 * 1000)}" /proc/uptime); echo "slept=$((b - a))"',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /lapic timer already calibrated 4000000/);
  assert.doesNotMatch(r.stdout, /calibrating APIC timer/);
  // tsc_early_khz gives the CPU's rate too (0002-tsc-early-khz-cpu.patch): no PIT loop for it.
  assert.doesNotMatch(r.stdout, /Fast TSC calibration/);
  assert.match(r.stdout, /tsc: Detected \d+\.\d+ MHz processor/);
  const slept = Number(/slept=(\d+)/.exec(r.stdout)?.[1]);
  assert.ok(slept >= 1000 && slept < 1500, `sleep 1 took ${slept} ms of guest time`);
});
