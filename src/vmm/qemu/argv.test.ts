import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VmSpec } from '../vm-spec.ts';
import { qemuArgv, qemuPaths, TCG_CACHE_DEFAULT_MIB } from './argv.ts';

const base: VmSpec = {
  name: 'c1',
  accel: 'kvm',
  cpus: 2,
  memoryMiB: 512,
  kernel: '/k/vmlinux',
  initrd: '/k/initramfs.cpio',
  cmdline: ['console=ttyS0', 'quiet'],
  fsShares: [{ tag: 'root', source: '/vm' }],
  blockDevices: [],
  nics: [],
  runDir: '/run/runcvm',
  consoleToStderr: false,
};

function flagValues(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => (a === flag ? [argv[i + 1] as string] : []));
}

test('kvm guests use the host cpu; tcg guests a bounded translation cache', () => {
  assert.deepEqual(flagValues(qemuArgv(base, qemuPaths(base.runDir)), '-accel'), ['kvm']);
  const tcg = qemuArgv({ ...base, accel: 'tcg' }, qemuPaths(base.runDir));
  assert.deepEqual(flagValues(tcg, '-accel'), ['tcg,tb-size=32']);
  assert.deepEqual(flagValues(tcg, '-cpu'), ['max']);
});

test('the translation cache is sized per installed kernel, and never reaches KVM', () => {
  const accel = (vm: Partial<VmSpec>) => flagValues(qemuArgv({ ...base, ...vm }, qemuPaths(base.runDir)), '-accel');
  assert.deepEqual(accel({ accel: 'tcg', kernelName: 'runcvm' }), ['tcg,tb-size=24']);
  assert.deepEqual(accel({ accel: 'tcg', kernelName: 'debian' }), ['tcg,tb-size=32']);
  assert.deepEqual(accel({ accel: 'tcg' }), [`tcg,tb-size=${TCG_CACHE_DEFAULT_MIB}`]);
  for (const kernelName of ['runcvm', 'debian'] as const) {
    const kvm = qemuArgv({ ...base, kernelName }, qemuPaths(base.runDir));
    assert.deepEqual(flagValues(kvm, '-accel'), ['kvm']);
    assert.ok(!kvm.some((a) => a.includes('tb-size') || a.includes('tcg')), 'no TCG option under KVM');
  }
});

test('memory is a shared memfd of the requested size, as vhost-user-fs needs', () => {
  const argv = qemuArgv(base, qemuPaths(base.runDir));
  assert.ok(flagValues(argv, '-object').includes('memory-backend-memfd,id=mem,size=512M,share=on'));
  assert.deepEqual(flagValues(argv, '-smp'), ['2']);
  assert.ok(flagValues(argv, '-global').includes('virtio-mmio.force-legacy=false'));
});

test('virtiofs share and agent port are wired to sockets in the run dir', () => {
  const argv = qemuArgv(base, qemuPaths(base.runDir));
  const dev = flagValues(argv, '-device');
  assert.ok(dev.includes('vhost-user-fs-device,chardev=fs-root,tag=root'));
  assert.ok(dev.includes('virtserialport,chardev=agent,name=org.runcvm.agent'));
  const chardevs = flagValues(argv, '-chardev');
  assert.ok(chardevs.includes('socket,id=fs-root,path=/run/runcvm/fs-root.sock'));
  assert.ok(chardevs.includes('socket,id=agent,path=/run/runcvm/agent.sock,server=on,wait=off'));
  assert.deepEqual(flagValues(argv, '-append'), ['console=ttyS0 quiet']);
});

test('the console goes to a file unless debugging', () => {
  assert.deepEqual(flagValues(qemuArgv(base, qemuPaths(base.runDir)), '-serial'), ['file:/run/runcvm/console.log']);
  assert.deepEqual(flagValues(qemuArgv({ ...base, consoleToStderr: true }, qemuPaths(base.runDir)), '-serial'), [
    'chardev:con',
  ]);
});

test('disks and nics become virtio-mmio devices', () => {
  const argv = qemuArgv(
    {
      ...base,
      blockDevices: [{ id: 'd0', path: '/x.img', readonly: true, serial: 'rootfs' }],
      nics: [
        { id: 'n0', mac: '02:42:ac:11:00:02', backend: { kind: 'tap', tap: 'tap0' } },
        { id: 'n1', mac: '52:54:00:12:34:56', backend: { kind: 'user' } },
      ],
    },
    qemuPaths(base.runDir),
  );
  const dev = flagValues(argv, '-device');
  assert.ok(dev.includes('virtio-blk-device,drive=d0,serial=rootfs'));
  assert.ok(dev.includes('virtio-net-device,netdev=n0,mac=02:42:ac:11:00:02'));
  assert.deepEqual(flagValues(argv, '-netdev'), ['tap,id=n0,ifname=tap0,script=no,downscript=no', 'user,id=n1']);
  assert.ok(
    flagValues(argv, '-drive').includes('id=d0,file=/x.img,format=raw,if=none,readonly=on,cache=writeback'),
    'guest flushes become fdatasync on the host',
  );
});

test('QMP socket in the run dir, a balloon with free-page reporting, named vCPU threads', () => {
  const argv = qemuArgv(base, qemuPaths(base.runDir));
  assert.deepEqual(flagValues(argv, '-qmp'), ['unix:/run/runcvm/qmp.sock,server=on,wait=off']);
  assert.ok(flagValues(argv, '-device').includes('virtio-balloon-device,free-page-reporting=on,id=balloon0'));
  assert.deepEqual(flagValues(argv, '-name'), ['c1,debug-threads=on']);
});
