import assert from 'node:assert/strict';
import { test } from 'node:test';
import { guestCmdline } from './vm-spec.ts';

const base = { debug: false, kernelDebug: false, append: '' };

test('a TCG guest keeps its lock prefixes and is told the TSC and APIC timer rates', () => {
  const args = guestCmdline({ ...base, accel: 'tcg', tscKhz: 2_300_000 });
  assert.ok(args.includes('noreplace-smp'));
  assert.ok(args.includes('runcvm.apic_khz=1000000'));
  assert.ok(args.includes('runcvm.init_poison=0'));
  assert.ok(args.includes('tsc_early_khz=2300000'));
});

test('a KVM guest keeps the kernel defaults', () => {
  const args = guestCmdline({ ...base, accel: 'kvm' });
  assert.ok(!args.includes('noreplace-smp'));
  assert.ok(!args.some((a) => /^(tsc_early_khz|runcvm\.apic_khz|runcvm\.init_poison)=/.test(a)));
});

test('RUNCVM_KERNEL_APPEND comes last', () => {
  const args = guestCmdline({ ...base, accel: 'tcg', append: ' lapic  foo=1 ' });
  assert.deepEqual(args.slice(-2), ['lapic', 'foo=1']);
});
