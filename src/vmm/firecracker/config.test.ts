import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VmSpec } from '../vm-spec.ts';
import { CTRL_ALT_DEL, firecrackerCalls, firecrackerVcpus } from './config.ts';
import { FirecrackerSpec } from './spec-validator.ts';

// The official API document, kept beside the repository in ../shared (also in CI).
const SPEC_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/firecracker/firecracker-api-v1.16.1.yaml');
const spec = new FirecrackerSpec(SPEC_FILE);

const vm: VmSpec = {
  name: 'c1', accel: 'kvm', cpus: 3, memoryMiB: 512, kernel: '/k/vmlinux', initrd: '/k/initramfs.cpio',
  cmdline: ['console=ttyS0', 'quiet'], fsShares: [],
  blockDevices: [{ id: 'rootfs', path: '/cache/img.ext4', readonly: true, serial: 'rootfs' }, { id: 'upper', path: '/run/upper.ext4', readonly: false, serial: 'upper' }],
  nics: [{ id: 'net0', mac: '02:42:ac:11:00:02', backend: { kind: 'tap', tap: 'tap-eth0' } }],
  runDir: '/run/runcvm', consoleToStderr: false,
};
const paths = { apiSocket: '/run/runcvm/fc.sock', vsockSocket: '/run/runcvm/vsock.sock' };

test('every request body conforms to Firecracker API 1.16.1', () => {
  const calls = firecrackerCalls(vm, paths);
  assert.ok(calls.length >= 7);
  for (const c of [...calls, CTRL_ALT_DEL]) assert.deepEqual(spec.check(c.method, c.path, c.body), [], `${c.method} ${c.path}`);
  assert.deepEqual(calls.at(-1)?.body, { action_type: 'InstanceStart' });
  assert.deepEqual(calls.map((c) => c.path).slice(0, 2), ['/machine-config', '/boot-source']);
});

test('the validator rejects what Firecracker would reject', () => {
  assert.notDeepEqual(spec.check('PUT', '/machine-config', { vcpu_count: 1 }), []);
  assert.notDeepEqual(spec.check('PUT', '/machine-config', { vcpu_count: 0, mem_size_mib: 128 }), []);
  assert.notDeepEqual(spec.check('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 128, vcpus: 2 }), [], 'a misspelt field');
  assert.notDeepEqual(spec.check('PUT', '/actions', { action_type: 'Reboot' }), []);
  assert.notDeepEqual(spec.check('PUT', '/vsock', { guest_cid: 2, uds_path: '/x' }), []);
  assert.throws(() => spec.check('PUT', '/no-such-endpoint', {}), /not an endpoint/);
});

test('vCPUs are 1 or even, at most 32', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 33, 64].map(firecrackerVcpus), [1, 1, 2, 4, 4, 32, 32]);
});

test('virtiofs shares and user-mode NICs are refused with the reason', () => {
  assert.throws(() => firecrackerCalls({ ...vm, fsShares: [{ tag: 'root', source: '/vm' }] }, paths), /no virtiofs.*RUNCVM_ROOTFS=image/);
  assert.throws(() => firecrackerCalls({ ...vm, nics: [{ id: 'n', mac: '52:54:00:12:34:56', backend: { kind: 'user' } }] }, paths), /only tap networking/);
});
