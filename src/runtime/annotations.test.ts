import assert from 'node:assert/strict';
import { test } from 'node:test';
import { annotationOptions, blameAnnotation, mergeOptionSources } from './annotations.ts';
import { OptionError, parseOptions } from './options.ts';

const noImage = () => undefined;

test("org.runcvm.<name> is RUNCVM_<NAME>; runcvm's own annotation and others are ignored", () => {
  const m = annotationOptions({
    'org.runcvm.hypervisor': 'qemu',
    'org.runcvm.kernel_append': 'quiet',
    'org.runcvm.rewritten': '1',
    'io.podman.annotations.init': 'FALSE',
  });
  assert.deepEqual(
    [...m],
    [
      ['RUNCVM_HYPERVISOR', 'qemu'],
      ['RUNCVM_KERNEL_APPEND', 'quiet'],
    ],
  );
  assert.throws(
    () => annotationOptions({ 'org.runcvm.Kernel-Append': 'x' }),
    /annotation org.runcvm.Kernel-Append: invalid name/,
  );
});

test('-e beats an annotation, which beats the image ENV; other variables are not options', () => {
  const env = ['PATH=/bin', 'RUNCVM_ROOTFS=image', 'RUNCVM_KERNEL_DEBUG=1'];
  const imageEnv = () => ['PATH=/bin', 'RUNCVM_ROOTFS=image'];
  const m = mergeOptionSources({
    env,
    annotations: { 'org.runcvm.rootfs': 'virtiofs', 'org.runcvm.kernel_debug': '0', 'org.runcvm.accel': 'tcg' },
    imageEnv,
  });
  const o = parseOptions(m.env);
  assert.equal(o.rootfs, 'virtiofs', 'the annotation overrides the image ENV');
  assert.equal(o.kernelDebug, true, '-e (not in the image ENV) overrides the annotation');
  assert.equal(o.accel, 'tcg', 'an annotation alone applies');
  assert.deepEqual([...m.fromAnnotation].sort(), ['RUNCVM_ACCEL', 'RUNCVM_ROOTFS']);
  assert.ok(!m.env.includes('PATH=/bin'));
});

test("-e that repeats the image's variable with another value still wins", () => {
  const m = mergeOptionSources({
    env: ['RUNCVM_ROOTFS=image', 'RUNCVM_ROOTFS=virtiofs'],
    annotations: { 'org.runcvm.rootfs': 'image' },
    imageEnv: () => ['RUNCVM_ROOTFS=image'],
  });
  assert.equal(parseOptions(m.env).rootfs, 'virtiofs');
});

test("a conflict the engine's store cannot settle is refused; equal values are no conflict; the store is read only on a conflict", () => {
  assert.throws(
    () =>
      mergeOptionSources({ env: ['RUNCVM_ACCEL=kvm'], annotations: { 'org.runcvm.accel': 'tcg' }, imageEnv: noImage }),
    /RUNCVM_ACCEL="kvm" in the environment and annotation org.runcvm.accel="tcg": .*give the option one way only/,
  );
  let asked = 0;
  const m = mergeOptionSources({
    env: ['RUNCVM_ACCEL=tcg'],
    annotations: { 'org.runcvm.accel': 'tcg' },
    imageEnv: () => {
      asked++;
      return undefined;
    },
  });
  assert.equal(parseOptions(m.env).accel, 'tcg');
  assert.equal(asked, 0);
});

test('validation errors of an annotated value name the annotation', () => {
  const m = mergeOptionSources({
    env: [],
    annotations: { 'org.runcvm.hypervisor': 'xen', 'org.runcvm.cache_max': '1g' },
    imageEnv: noImage,
  });
  const err = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return blameAnnotation(e, m.fromAnnotation) as Error;
    }
    throw new Error('no error');
  };
  const e1 = err(() => parseOptions(m.env.filter((e) => e.startsWith('RUNCVM_HYPERVISOR'))));
  assert.ok(e1 instanceof OptionError);
  assert.equal(
    e1.message,
    'annotation org.runcvm.hypervisor (RUNCVM_HYPERVISOR): unknown value "xen" (allowed: qemu, firecracker)',
  );
  assert.match(
    err(() => parseOptions(m.env)).message,
    /^annotation org.runcvm.cache_max \(RUNCVM_CACHE_MAX\): a host setting/,
  );
  const unknown = mergeOptionSources({ env: [], annotations: { 'org.runcvm.frobnicate': '1' }, imageEnv: noImage });
  assert.throws(() => {
    try {
      parseOptions(unknown.env);
    } catch (e) {
      throw blameAnnotation(e, unknown.fromAnnotation);
    }
  }, /: annotation org.runcvm.frobnicate \(RUNCVM_FROBNICATE\): unknown option/);
});
