import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DataPlaneInputs, dataPlaneFor } from './data-plane.ts';

const base: DataPlaneInputs = {
  requested: 'supervisor',
  hypervisor: 'qemu',
  volumes: 'virtiofs',
  podSandbox: false,
  disks: 0,
  hostCpus: false,
};

test('a QEMU container with virtiofs volumes gets the supervisor it asked for, which starts the VM too', () => {
  assert.deepEqual(dataPlaneFor(base), { plane: 'supervisor', vmStart: 'supervisor' });
});

test('RUNCVM_DISKS and --cpuset-cpus keep the Node launcher for the start, and say why', () => {
  const cases: [Partial<DataPlaneInputs>, RegExp][] = [
    [{ disks: 1 }, /RUNCVM_DISKS files are found or made by the Node launcher/],
    [{ hostCpus: true }, /--cpuset-cpus pins the vCPU threads through QMP/],
  ];
  for (const [change, why] of cases) {
    const c = dataPlaneFor({ ...base, ...change });
    assert.equal(c.plane, 'supervisor', JSON.stringify(change));
    assert.equal(c.vmStart, 'launcher', JSON.stringify(change));
    assert.match(c.keptLauncher ?? '', why);
  }
});

test('RUNCVM_DATA_PLANE=node keeps the Node launcher, with no reason to report', () => {
  assert.deepEqual(dataPlaneFor({ ...base, requested: 'node' }), { plane: 'node' });
  assert.deepEqual(dataPlaneFor({ ...base, requested: 'node', hypervisor: 'firecracker' }), { plane: 'node' });
});

test('9P volumes and a CRI pod VM get the supervisor (no Node launcher resident); the launcher starts their VM', () => {
  const cases: [Partial<DataPlaneInputs>, RegExp][] = [
    [{ volumes: '9p' }, /9P volume server \(link, firewall rule, diod\) is started by the Node launcher/],
    [{ podSandbox: true }, /pod VM's PortForward rule and pod log are set up by the Node launcher/],
  ];
  for (const [change, why] of cases) {
    const c = dataPlaneFor({ ...base, ...change });
    assert.equal(c.plane, 'supervisor', JSON.stringify(change));
    assert.equal(c.vmStart, 'launcher', JSON.stringify(change));
    assert.match(c.keptLauncher ?? '', why);
  }
});

test('Firecracker itself no longer keeps the Node launcher after boot, but the launcher starts it (no start plan)', () => {
  const c = dataPlaneFor({ ...base, hypervisor: 'firecracker' });
  assert.equal(c.plane, 'supervisor');
  assert.equal(c.vmStart, 'launcher');
  assert.match(c.keptLauncher ?? '', /Firecracker is configured through its API socket/);
});
