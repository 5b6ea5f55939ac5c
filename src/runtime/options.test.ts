import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KERNEL, OptionError, parseOptions } from './options.ts';

test('defaults when nothing is set', () => {
  const o = parseOptions(['PATH=/bin']);
  assert.equal(o.hypervisor, 'qemu');
  assert.equal(o.accel, undefined);
  assert.equal(o.kernel, DEFAULT_KERNEL);
  assert.equal(o.kernelDebug, false);
});

test('valid values are taken, last duplicate wins', () => {
  const o = parseOptions(['RUNCVM_HYPERVISOR=qemu', 'RUNCVM_ACCEL=tcg', 'RUNCVM_KERNEL_DEBUG=1', 'RUNCVM_ACCEL=kvm']);
  assert.equal(o.accel, 'kvm');
  assert.equal(o.kernelDebug, true);
});

test('unknown hypervisor names the option and the allowed values', () => {
  assert.throws(
    () => parseOptions(['RUNCVM_HYPERVISOR=xen']),
    (e: Error) => {
      assert.ok(e instanceof OptionError);
      assert.match(e.message, /RUNCVM_HYPERVISOR: unknown value "xen" \(allowed: qemu, firecracker\)/);
      return true;
    },
  );
});

test('malformed boolean and kernel name are refused', () => {
  assert.throws(
    () => parseOptions(['RUNCVM_KERNEL_DEBUG=maybe']),
    /RUNCVM_KERNEL_DEBUG: invalid value "maybe" \(allowed: 1, 0, true, false\)/,
  );
  assert.throws(
    () => parseOptions(['RUNCVM_KERNEL=../etc']),
    /RUNCVM_KERNEL: unknown value "\.\.\/etc" \(allowed: runcvm, debian\)/,
  );
  assert.throws(() => parseOptions(['RUNCVM_ACCEL=hvf']), /RUNCVM_ACCEL: unknown value "hvf" \(allowed: kvm, tcg\)/);
});

test('RUNCVM_KERNEL: runcvm or debian, DEFAULT_KERNEL when unset, anything else names the allowed values', () => {
  assert.equal(parseOptions(['RUNCVM_KERNEL=debian']).kernel, 'debian');
  assert.equal(parseOptions(['RUNCVM_KERNEL=runcvm']).kernel, 'runcvm');
  assert.equal(parseOptions(['RUNCVM_KERNEL=']).kernel, DEFAULT_KERNEL);
  assert.throws(
    () => parseOptions(['RUNCVM_KERNEL=generic']),
    (e: Error) => {
      assert.ok(e instanceof OptionError);
      assert.match(e.message, /^RUNCVM_KERNEL: unknown value "generic" \(allowed: runcvm, debian\)$/);
      return true;
    },
  );
});

test('a misspelt RUNCVM_ option is an error, not silently ignored', () => {
  assert.throws(() => parseOptions(['RUNCVM_HYPERVSIOR=qemu']), /RUNCVM_HYPERVSIOR: unknown option/);
});

test('RUNCVM_ROOTFS: virtiofs by default on QEMU, image on Firecracker, bad values name the allowed ones', () => {
  assert.equal(parseOptions([]).rootfs, 'virtiofs');
  assert.equal(parseOptions(['RUNCVM_ROOTFS=image']).rootfs, 'image');
  assert.equal(parseOptions(['RUNCVM_HYPERVISOR=firecracker']).rootfs, 'image');
  assert.throws(
    () => parseOptions(['RUNCVM_ROOTFS=ext4']),
    /RUNCVM_ROOTFS: unknown value "ext4" \(allowed: virtiofs, image\)/,
  );
  assert.throws(
    () => parseOptions(['RUNCVM_HYPERVISOR=firecracker', 'RUNCVM_ROOTFS=virtiofs']),
    /not available with RUNCVM_HYPERVISOR=firecracker \(allowed: image\)/,
  );
});

test('host settings named as container variables are refused, whatever their value (image ENV is untrusted)', () => {
  for (const [name, value, setting] of [
    ['RUNCVM_FIRECRACKER', '/tmp/x.sh', 'firecracker'],
    ['RUNCVM_FIRECRACKER', 'x.sh', 'firecracker'],
    ['RUNCVM_CACHE_MAX', '2g', 'cacheMax'],
    ['RUNCVM_JAILER', '0', 'jailer'],
  ]) {
    assert.throws(
      () => parseOptions([`${name}=${value}`], '/opt/runcvm/etc/config.json'),
      (e: Error) => {
        assert.ok(e instanceof OptionError);
        assert.equal(e.message.startsWith(`${name}: a host setting, not a container option`), true, e.message);
        assert.match(e.message, new RegExp(`sets "${setting}" in /opt/runcvm/etc/config.json`));
        return true;
      },
    );
  }
});

test('RUNCVM_DISKS and RUNCVM_TIMING are parsed here, once', () => {
  const o = parseOptions(['RUNCVM_DISKS=/d/x,/data,ext4,1G', 'RUNCVM_TIMING=1']);
  assert.deepEqual(o.disks, [{ src: '/d/x', dst: '/data', fs: 'ext4', sizeBytes: 1024 ** 3 }]);
  assert.equal(o.timing, true);
  assert.equal(parseOptions([]).timing, false);
});

test('RUNCVM_VOLUMES: virtiofs by default on qemu, 9p on firecracker; a bad value names the allowed ones', () => {
  assert.equal(parseOptions([]).volumes, 'virtiofs');
  assert.equal(parseOptions(['RUNCVM_HYPERVISOR=firecracker']).volumes, '9p');
  assert.equal(parseOptions(['RUNCVM_VOLUMES=9p']).volumes, '9p');
  assert.throws(
    () => parseOptions(['RUNCVM_HYPERVISOR=firecracker', 'RUNCVM_VOLUMES=virtiofs']),
    /virtiofs is not available with RUNCVM_HYPERVISOR=firecracker \(allowed: 9p\)/,
  );
  assert.throws(
    () => parseOptions(['RUNCVM_VOLUMES=nfs']),
    /RUNCVM_VOLUMES: unknown value "nfs" \(allowed: virtiofs, 9p\)/,
  );
});
