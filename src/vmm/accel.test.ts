import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseAccel } from './accel.ts';

const good = { usable: true, reason: 'ok' };
const bad = { usable: false, reason: 'qemu failed under KVM: MSR' };

test('kvm is chosen when it works, whatever the host allows', () => {
  assert.equal(chooseAccel(undefined, { devKvm: true, probe: good, hostAllowsTcg: true }), 'kvm');
});

test('tcg fallback only where the host allowed it, else a clear error', () => {
  assert.equal(chooseAccel(undefined, { devKvm: true, probe: bad, hostAllowsTcg: true }), 'tcg');
  assert.throws(
    () => chooseAccel(undefined, { devKvm: true, probe: bad, hostAllowsTcg: false }),
    /KVM is not usable: qemu failed under KVM: MSR; set RUNCVM_ACCEL=tcg/,
  );
  assert.throws(
    () => chooseAccel(undefined, { devKvm: false, probe: bad, hostAllowsTcg: false }),
    /no usable \/dev\/kvm/,
  );
});

test('an explicit choice wins, but kvm needs a device', () => {
  assert.equal(chooseAccel('tcg', { devKvm: true, probe: good, hostAllowsTcg: false }), 'tcg');
  assert.equal(chooseAccel('kvm', { devKvm: true, probe: bad, hostAllowsTcg: false }), 'kvm');
  assert.throws(
    () => chooseAccel('kvm', { devKvm: false, probe: bad, hostAllowsTcg: true }),
    /RUNCVM_ACCEL=kvm: \/dev\/kvm is missing/,
  );
});
