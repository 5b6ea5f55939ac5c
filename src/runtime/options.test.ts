import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions, OptionError } from './options.ts';

test('defaults when nothing is set', () => {
  const o = parseOptions(['PATH=/bin']);
  assert.equal(o.hypervisor, 'qemu');
  assert.equal(o.accel, undefined);
  assert.equal(o.kernel, 'debian');
  assert.equal(o.kernelDebug, false);
});

test('valid values are taken, last duplicate wins', () => {
  const o = parseOptions(['RUNCVM_HYPERVISOR=qemu', 'RUNCVM_ACCEL=tcg', 'RUNCVM_KERNEL_DEBUG=1', 'RUNCVM_ACCEL=kvm']);
  assert.equal(o.accel, 'kvm');
  assert.equal(o.kernelDebug, true);
});

test('unknown hypervisor names the option and the allowed values', () => {
  assert.throws(() => parseOptions(['RUNCVM_HYPERVISOR=xen']), (e: Error) => {
    assert.ok(e instanceof OptionError);
    assert.match(e.message, /RUNCVM_HYPERVISOR: unknown value "xen" \(allowed: qemu, firecracker\)/);
    return true;
  });
});

test('malformed boolean and kernel name are refused', () => {
  assert.throws(() => parseOptions(['RUNCVM_KERNEL_DEBUG=maybe']), /RUNCVM_KERNEL_DEBUG: invalid value "maybe" \(allowed: 1, 0, true, false\)/);
  assert.throws(() => parseOptions(['RUNCVM_KERNEL=../etc']), /RUNCVM_KERNEL: invalid value/);
  assert.throws(() => parseOptions(['RUNCVM_ACCEL=hvf']), /RUNCVM_ACCEL: unknown value "hvf" \(allowed: kvm, tcg\)/);
});

test('a misspelt RUNCVM_ option is an error, not silently ignored', () => {
  assert.throws(() => parseOptions(['RUNCVM_HYPERVSIOR=qemu']), /RUNCVM_HYPERVSIOR: unknown option/);
});

test('RUNCVM_ROOTFS: virtiofs by default on QEMU, image on Firecracker, bad values name the allowed ones', () => {
  assert.equal(parseOptions([]).rootfs, 'virtiofs');
  assert.equal(parseOptions(['RUNCVM_ROOTFS=image']).rootfs, 'image');
  assert.equal(parseOptions(['RUNCVM_HYPERVISOR=firecracker']).rootfs, 'image');
  assert.throws(() => parseOptions(['RUNCVM_ROOTFS=ext4']), /RUNCVM_ROOTFS: unknown value "ext4" \(allowed: virtiofs, image\)/);
  assert.throws(() => parseOptions(['RUNCVM_HYPERVISOR=firecracker', 'RUNCVM_ROOTFS=virtiofs']), /not available with RUNCVM_HYPERVISOR=firecracker \(allowed: image\)/);
});

test('RUNCVM_CACHE_MAX: sizes with suffixes, a clear error otherwise', () => {
  assert.equal(parseOptions(['RUNCVM_CACHE_MAX=2g']).cacheMax, 2 * 1024 ** 3);
  assert.equal(parseOptions(['RUNCVM_CACHE_MAX=0']).cacheMax, 0);
  assert.equal(parseOptions(['RUNCVM_CACHE_MAX=1.5M']).cacheMax, 1.5 * 1024 ** 2);
  assert.throws(() => parseOptions(['RUNCVM_CACHE_MAX=lots']), (e: Error) => e instanceof OptionError && /RUNCVM_CACHE_MAX: invalid value "lots"/.test(e.message));
});

test('RUNCVM_VOLUMES: virtiofs by default on qemu, 9p on firecracker; a bad value names the allowed ones', () => {
  assert.equal(parseOptions([]).volumes, 'virtiofs');
  assert.equal(parseOptions(['RUNCVM_HYPERVISOR=firecracker']).volumes, '9p');
  assert.equal(parseOptions(['RUNCVM_VOLUMES=9p']).volumes, '9p');
  assert.throws(() => parseOptions(['RUNCVM_HYPERVISOR=firecracker', 'RUNCVM_VOLUMES=virtiofs']), /virtiofs is not available with RUNCVM_HYPERVISOR=firecracker \(allowed: 9p\)/);
  assert.throws(() => parseOptions(['RUNCVM_VOLUMES=nfs']), /RUNCVM_VOLUMES: unknown value "nfs" \(allowed: virtiofs, 9p\)/);
});
