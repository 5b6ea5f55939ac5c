import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firecrackerDriver, findFirecracker } from './driver.ts';

const check = { kernel: '/k', initrd: '/i' };

test('selecting firecracker on a host without it says what is missing', () => {
  assert.throws(() => firecrackerDriver.checkHost({ ...check, kvm: false, env: ['RUNCVM_FIRECRACKER=/nonexistent/firecracker'] }),
    /RUNCVM_HYPERVISOR=firecracker: not available on this host: firecracker binary not found \(RUNCVM_FIRECRACKER or PATH\), no usable \/dev\/kvm/);
});

test('the binary is taken from RUNCVM_FIRECRACKER, else PATH', () => {
  assert.equal(findFirecracker(['RUNCVM_FIRECRACKER=/bin/sh']), '/bin/sh');
  assert.equal(findFirecracker([], '/nonexistent'), undefined);
});
