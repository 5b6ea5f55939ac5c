import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmSpec } from '../vm-spec.ts';
import type { ApiCall } from './api-client.ts';
import { CTRL_ALT_DEL, firecrackerCalls, firecrackerVcpus } from './config.ts';
import { API_CONTRACT, type Endpoint } from './testdata/api-contract.ts';
import { checkCall } from './testdata/contract-check.ts';

const vm: VmSpec = {
  name: 'c1',
  accel: 'kvm',
  cpus: 3,
  memoryMiB: 512,
  kernel: '/k/vmlinux',
  initrd: '/k/initramfs.cpio',
  cmdline: ['console=ttyS0', 'quiet'],
  fsShares: [],
  blockDevices: [
    { id: 'rootfs', path: '/cache/img.ext4', readonly: true, serial: 'rootfs' },
    { id: 'upper', path: '/run/upper.ext4', readonly: false, serial: 'upper' },
  ],
  nics: [{ id: 'net0', mac: '02:42:ac:11:00:02', backend: { kind: 'tap', tap: 'tap-eth0' } }],
  runDir: '/run/runcvm',
  consoleToStderr: false,
};
const paths = { apiSocket: '/run/runcvm/fc.sock', vsockSocket: '/run/runcvm/vsock.sock' };
const v116 = { balloon: true, version: [1, 16, 1] as [number, number, number] };

const body = (calls: ApiCall[], path: string) =>
  calls.find((c) => c.path === path)?.body as Record<string, unknown> | undefined;

test('every request keeps the Firecracker API 1.16.1 contract', () => {
  const calls = firecrackerCalls(vm, paths, v116);
  assert.deepEqual(
    calls.map((c) => `${c.method} ${c.path}`),
    [
      'PUT /machine-config',
      'PUT /boot-source',
      'PUT /drives/rootfs',
      'PUT /drives/upper',
      'PUT /network-interfaces/net0',
      'PUT /vsock',
      'PUT /balloon',
      'PUT /actions',
    ],
  );
  for (const c of [...calls, CTRL_ALT_DEL])
    assert.deepEqual(checkCall(c.method, c.path, c.body), [], `${c.method} ${c.path}`);
  assert.deepEqual(calls.at(-1)?.body, { action_type: 'InstanceStart' });
  assert.deepEqual(body(calls, '/machine-config'), { vcpu_count: 4, mem_size_mib: 512, smt: false });
  assert.equal(body(calls, '/drives/upper')?.is_read_only, false);
  assert.equal(body(calls, '/drives/rootfs')?.is_read_only, true);
});

test("a writable drive honours the guest's flushes (cache_type Writeback), a read-only one keeps the default", () => {
  const calls = firecrackerCalls(vm, paths, v116);
  assert.equal(body(calls, '/drives/upper')?.cache_type, 'Writeback');
  assert.equal(body(calls, '/drives/rootfs')?.cache_type, undefined);
  assert.notDeepEqual(
    checkCall('PUT', '/drives/d', {
      drive_id: 'd',
      path_on_host: '/x',
      is_root_device: false,
      is_read_only: false,
      cache_type: 'writeback',
    }),
    [],
    'the enum is case-sensitive',
  );
});

test("boot args: ours plus a keyboard-controller reset to end the VM, never Firecracker's nomodule", () => {
  const args = String(body(firecrackerCalls(vm, paths, v116), '/boot-source')?.boot_args).split(' ');
  assert.deepEqual(args.slice(0, 2), ['console=ttyS0', 'quiet']);
  for (const a of ['reboot=k', 'runcvm.exit=reset', 'pci=off']) assert.ok(args.includes(a), a);
  assert.ok(!args.includes('nomodule'));
});

test('free page reporting is asked for only from Firecracker 1.14, the balloon only when wanted', () => {
  assert.equal(body(firecrackerCalls(vm, paths, v116), '/balloon')?.free_page_reporting, true);
  const old = firecrackerCalls(vm, paths, { balloon: true, version: [1, 8, 0] });
  assert.deepEqual(body(old, '/balloon'), { amount_mib: 0, deflate_on_oom: false });
  assert.equal(body(firecrackerCalls(vm, paths, { ...v116, balloon: false }), '/balloon'), undefined);
});

test('the contract check rejects what Firecracker would reject', () => {
  assert.notDeepEqual(checkCall('PUT', '/machine-config', { vcpu_count: 1 }), []);
  assert.notDeepEqual(checkCall('PUT', '/machine-config', { vcpu_count: 0, mem_size_mib: 128 }), []);
  assert.notDeepEqual(
    checkCall('PUT', '/machine-config', { vcpu_count: 1, mem_size_mib: 128, vcpus: 2 }),
    [],
    'a misspelt field',
  );
  assert.notDeepEqual(checkCall('PUT', '/actions', { action_type: 'Reboot' }), []);
  assert.notDeepEqual(checkCall('PUT', '/vsock', { guest_cid: 2, uds_path: '/x' }), []);
  assert.notDeepEqual(checkCall('PUT', '/network-interfaces/n', { iface_id: 'n' }), [], 'host_dev_name is required');
  assert.notDeepEqual(checkCall('PUT', '/boot-source', { boot_args: 'x' }), [], 'kernel_image_path is required');
  assert.notDeepEqual(checkCall('PUT', '/balloon', { amount_mib: 0 }), [], 'deflate_on_oom is required');
  assert.notDeepEqual(checkCall('GET', '/version', { x: 1 }), [], 'GET /version has no body');
  assert.notDeepEqual(checkCall('DELETE', '/vsock', undefined), [], 'no such method');
  assert.throws(() => checkCall('PUT', '/no-such-endpoint', {}), /not an endpoint/);
  const file = { path_on_host: '/x', is_root_device: false, is_read_only: true };
  assert.notDeepEqual(
    checkCall('PUT', '/drives/d', { drive_id: 'd', ...file, serial: 'x' }),
    [],
    'drives have no serial',
  );
  assert.notDeepEqual(checkCall('PUT', '/drives/d', { drive_id: 'e', ...file }), [], 'path and body ids differ');
  assert.notDeepEqual(
    checkCall('PUT', '/drives/d-1', { drive_id: 'd-1', ...file }),
    [],
    'ids are letters, digits and _',
  );
  assert.notDeepEqual(
    checkCall('PUT', '/drives/d', { drive_id: 'd', ...file, socket: '/s' }),
    [],
    'a file or a socket',
  );
  const nic = { iface_id: 'n', host_dev_name: 't' };
  assert.notDeepEqual(
    checkCall('PUT', '/network-interfaces/n', { ...nic, guest_mac: '02:42:ac:11:00' }),
    [],
    'six bytes',
  );
  assert.notDeepEqual(checkCall('PUT', '/network-interfaces/n', { ...nic, mtu: 67 }), [], 'mtu below 68');
  assert.notDeepEqual(checkCall('PUT', '/machine-config', { vcpu_count: 3, mem_size_mib: 128, smt: true }), [], 'SMT');
  assert.notDeepEqual(checkCall('PUT', '/machine-config', { vcpu_count: 33, mem_size_mib: 128 }), [], 'at most 32');
  assert.notDeepEqual(checkCall('PUT', '/machine-config', { vcpu_count: 1.5, mem_size_mib: 128 }), [], 'integers');
  assert.notDeepEqual(
    checkCall('PUT', '/balloon', { amount_mib: 0, deflate_on_oom: false, free_page_reporting: 'y' }),
    [],
  );
  assert.notDeepEqual(checkCall('PUT', '/actions', undefined), [], 'a PUT needs a body');
  assert.notDeepEqual(checkCall('PUT', '/vsock', [1]), [], 'a body is an object');
  assert.deepEqual(
    checkCall('PUT', '/drives/d_1', { drive_id: 'd_1', is_root_device: false, socket: '/s' }),
    [],
    'vhost-user',
  );
  assert.deepEqual(checkCall('GET', '/version', undefined), []);
});

/** A value of another JSON type than `v`'s. */
const retyped = (v: unknown): unknown =>
  typeof v === 'string' ? 42 : typeof v === 'number' ? String(v) : typeof v === 'boolean' ? 'true' : null;

test('a wrong body from the driver fails the check: each field retyped, each required one dropped, one added', () => {
  const required: Record<string, string[]> = {
    '/machine-config': ['vcpu_count', 'mem_size_mib'],
    '/boot-source': ['kernel_image_path'],
    '/drives/rootfs': ['drive_id', 'is_root_device', 'path_on_host', 'is_read_only'],
    '/drives/upper': ['drive_id', 'is_root_device', 'path_on_host', 'is_read_only'],
    '/network-interfaces/net0': ['iface_id', 'host_dev_name'],
    '/vsock': ['guest_cid', 'uds_path'],
    '/balloon': ['amount_mib', 'deflate_on_oom'],
    '/actions': ['action_type'],
  };
  let mutants = 0;
  for (const c of [...firecrackerCalls(vm, paths, v116), CTRL_ALT_DEL]) {
    const good = c.body as Record<string, unknown>;
    const rejected = (b: unknown, what: string) => {
      mutants++;
      assert.notDeepEqual(checkCall(c.method, c.path, b), [], `${c.method} ${c.path}: ${what} passed`);
    };
    rejected({ ...good, runcvm_extra: true }, 'an unknown field');
    for (const k of Object.keys(good)) rejected({ ...good, [k]: retyped(good[k]) }, `${k} retyped`);
    for (const k of required[c.path] ?? assert.fail(`no required fields listed for ${c.path}`)) {
      const { [k]: _dropped, ...rest } = good;
      rejected(rest, `${k} dropped`);
    }
  }
  assert.ok(mutants > 40, `only ${mutants} mutants`);
});

test('the contract describes exactly the endpoints the driver calls', () => {
  const calls = [...firecrackerCalls(vm, paths, v116), CTRL_ALT_DEL, { method: 'GET', path: '/version' }];
  const used = new Set(
    calls.map((c) => {
      const template = (e: Endpoint) => new RegExp(`^${e.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      const ep = API_CONTRACT.find((e) => e.method === c.method && template(e).test(c.path));
      return ep ? `${ep.method} ${ep.path}` : assert.fail(`${c.method} ${c.path}: not in the contract`);
    }),
  );
  assert.deepEqual([...used].sort(), API_CONTRACT.map((e) => `${e.method} ${e.path}`).sort());
});

test('vCPUs are 1 or even, at most 32', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 33, 64].map(firecrackerVcpus), [1, 1, 2, 4, 4, 32, 32]);
});

test('virtiofs shares, user-mode NICs and TCG are refused with the reason', () => {
  assert.throws(
    () => firecrackerCalls({ ...vm, fsShares: [{ tag: 'root', source: '/vm' }] }, paths, v116),
    /no virtiofs.*RUNCVM_ROOTFS=image/,
  );
  assert.throws(
    () =>
      firecrackerCalls(
        { ...vm, nics: [{ id: 'n', mac: '52:54:00:12:34:56', backend: { kind: 'user' } }] },
        paths,
        v116,
      ),
    /only tap networking/,
  );
  assert.throws(
    () => firecrackerCalls({ ...vm, accel: 'tcg' }, paths, v116),
    /only under KVM \(RUNCVM_ACCEL=tcg is for qemu\)/,
  );
});
