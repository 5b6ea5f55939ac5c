import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DataPlaneInputs, dataPlaneFor } from './data-plane.ts';

const base: DataPlaneInputs = { requested: 'supervisor', hypervisor: 'qemu', volumes: 'virtiofs', podSandbox: false };

test('a QEMU container with virtiofs volumes gets the supervisor it asked for', () => {
  assert.deepEqual(dataPlaneFor(base), { plane: 'supervisor' });
});

test('RUNCVM_DATA_PLANE=node keeps the Node launcher, with no reason to report', () => {
  assert.deepEqual(dataPlaneFor({ ...base, requested: 'node' }), { plane: 'node' });
  assert.deepEqual(dataPlaneFor({ ...base, requested: 'node', hypervisor: 'firecracker' }), { plane: 'node' });
});

test('Firecracker keeps the Node launcher and says why', () => {
  const c = dataPlaneFor({ ...base, hypervisor: 'firecracker' });
  assert.equal(c.plane, 'node');
  assert.match(c.keptNode ?? '', /firecracker runs under the Node launcher/);
});

test('9P volumes and a CRI pod VM get the supervisor (no Node launcher resident)', () => {
  for (const change of [{ volumes: '9p' }, { podSandbox: true }, { volumes: '9p', podSandbox: true }] as const)
    assert.deepEqual(dataPlaneFor({ ...base, ...change }), { plane: 'supervisor' }, JSON.stringify(change));
});
