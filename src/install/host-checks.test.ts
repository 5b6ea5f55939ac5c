import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, report } from './checks.ts';
import { type HostFacts, hostChecks } from './host-checks.ts';

const v = (name: string, version: string) => ({ name, path: `/usr/bin/${name}`, version });
const good: HostFacts = {
  runcvm: '1.0.0',
  installed: true,
  dispatcher: v('runcvm-runtime', '1.0.0'),
  required: [v('runc', '1.1.5'), v('node', '20.1.0'), v('qemu', '7.2.0'), v('virtiofsd', '7.2.0')],
  optional: [
    { component: v('diod', '1.0.24'), neededFor: '9p' },
    { component: { name: 'firecracker', path: 'firecracker', error: 'not found' }, neededFor: 'fc' },
  ],
  devKvm: { exists: true, openRw: true },
  kvmProbe: { usable: true, reason: 'booted in 0.3 s' },
  allowTcg: false,
  devices: [
    { path: '/dev/net/tun', exists: true },
    { path: '/dev/vhost-net', exists: true },
    { path: '/dev/vhost-vsock', exists: false },
  ],
  cgroup: { version: 2, memoryController: true },
  kernels: [
    {
      name: 'debian',
      dir: '/p/kernels/debian',
      missing: [],
      vmlinuxIsElf: true,
      release: '6.1.0',
      agent: v('runcvm-agent', '1.0.0'),
    },
  ],
  cache: { dir: '/var/lib/runcvm/cache', images: 2, bytes: 300 * 1024 ** 2, maxBytes: 20 * 1024 ** 3 },
};

const byName = (f: HostFacts) => new Map(hostChecks(f).map((c) => [c.name, c]));

test('a ready host: nothing fails, a missing firecracker or vhost-vsock is only information', () => {
  const checks = hostChecks(good);
  assert.deepEqual(
    checks.filter((c) => c.status !== 'ok').map((c) => `${c.name}:${c.status}`),
    ['firecracker:info', 'vhost-vsock:info'],
  );
  const r = report('1.0.0', '/p', checks);
  assert.equal(r.ok, true);
  assert.match(formatReport(r), /^OK {4}qemu +\/usr\/bin\/qemu: 7\.2\.0$/m);
  assert.match(formatReport(r), /^ready: runcvm containers can start here; 0 warning\(s\)$/m);
});

test('every failure names its fix, and any failure makes the report not ok', () => {
  const bad: HostFacts = {
    ...good,
    dispatcher: v('runcvm-runtime', '0.9.0'),
    required: [
      v('runc', '1.1.5'),
      { name: 'qemu', path: '/usr/bin/qemu-system-x86_64', error: 'cannot run /usr/bin/qemu-system-x86_64: ENOENT' },
    ],
    devKvm: { exists: false, openRw: false },
    kvmProbe: undefined,
    devices: [
      { path: '/dev/net/tun', exists: false },
      { path: '/dev/vhost-net', exists: false },
    ],
    kernels: [{ ...good.kernels[0]!, missing: ['initramfs.cpio'] }],
    cache: { ...good.cache, bytes: 21 * 1024 ** 3 },
  };
  const c = byName(bad);
  assert.equal(c.get('runtime')?.status, 'fail');
  assert.match(c.get('runtime')?.message as string, /is runcvm 0\.9\.0, this runcvm is 1\.0\.0/);
  assert.deepEqual([c.get('qemu')?.status, c.get('qemu')?.fix], ['fail', 'apt-get install qemu-system-x86']);
  assert.equal(c.get('kvm')?.status, 'fail');
  assert.match(c.get('kvm')?.fix as string, /runcvm install --allow-tcg/);
  assert.deepEqual([c.get('net/tun')?.status, c.get('net/tun')?.fix], ['fail', 'modprobe tun']);
  assert.equal(c.get('vhost-net')?.status, 'warn');
  assert.match(c.get('guest:debian')?.message as string, /missing or empty: initramfs\.cpio/);
  assert.deepEqual([c.get('cache')?.status, c.get('cache')?.fix], ['warn', 'runcvm cache prune']);
  for (const check of hostChecks(bad))
    if (check.status === 'fail' || check.status === 'warn') assert.ok(check.fix, `${check.name} has no fix`);
  const r = report('1.0.0', '/p', hostChecks(bad));
  assert.equal(r.ok, false);
  assert.match(formatReport(r), /^5 problem\(s\) stop runcvm containers from starting; 2 warning\(s\)$/m);
});

test('KVM that fails its probe with TCG allowed is a warning; a stale guest agent is a warning', () => {
  const c = byName({
    ...good,
    kvmProbe: { usable: false, reason: 'a test VM did not power off' },
    allowTcg: true,
    kernels: [{ ...good.kernels[0]!, agent: v('runcvm-agent', '0.9.0') }],
  });
  assert.equal(c.get('kvm')?.status, 'warn');
  assert.match(c.get('kvm')?.message as string, /a test VM failed: a test VM did not power off; TCG allowed/);
  assert.equal(c.get('guest:debian')?.status, 'warn');
  assert.equal(byName({ ...good, installed: false }).get('runtime')?.fix, 'runcvm install (or give --prefix DIR)');
});
