import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findFirecracker, firecrackerDriver } from './driver.ts';

const check = { kernel: '/k', initrd: '/i' };

test('selecting firecracker on a host without it says what is missing', () => {
  assert.throws(
    () => firecrackerDriver.checkHost({ ...check, kvm: false, firecracker: '/nonexistent/firecracker' }),
    /RUNCVM_HYPERVISOR=firecracker: not available on this host: firecracker binary not found \(\/nonexistent\/firecracker\), no usable \/dev\/kvm/,
  );
});

test('the binary is taken from the host setting, else PATH', () => {
  assert.equal(findFirecracker('/bin/sh'), '/bin/sh');
  assert.equal(findFirecracker(undefined, '/nonexistent'), undefined);
});
