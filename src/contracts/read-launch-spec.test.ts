import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorKind, RuncvmError } from './errors.ts';
import { guestRootOf } from './launch-spec.ts';
import { parseLaunchSpec, readLaunchSpec } from './read-launch-spec.ts';
import { sampleLaunchSpec } from './testdata/launch-spec.ts';

const SPEC = sampleLaunchSpec({
  containerId: 'c1',
  kernel: { vmlinux: '/k/vmlinux', initramfs: '/k/initramfs.cpio' },
  mounts: [{ kind: 'bind', destination: '/data', flags: 0 }],
});

test('a spec as create writes it is read back unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-spec-'));
  try {
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(SPEC));
    assert.deepEqual(readLaunchSpec(join(dir, 'spec.json')), SPEC);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('another spec version is refused, naming the file and both versions', () => {
  assert.throws(
    () => parseLaunchSpec({ ...SPEC, version: 2 }, '/b/spec.json'),
    (e: unknown) =>
      e instanceof RuncvmError &&
      errorKind(e) === 'host-not-ready' &&
      e.context.file === '/b/spec.json' &&
      /\/b\/spec\.json: launch spec version 2, this runcvm reads version 1/.test(e.message),
  );
  assert.throws(() => parseLaunchSpec({ ...SPEC, version: undefined }, 'f'), /launch spec version undefined/);
});

test('a malformed spec is refused with the field at fault', () => {
  assert.throws(() => parseLaunchSpec([], 'f'), /f: not a JSON object/);
  assert.throws(
    () => parseLaunchSpec({ ...SPEC, hypervisor: 'xen' }, 'f'),
    /f: hypervisor: expected qemu or firecracker/,
  );
  assert.throws(
    () => parseLaunchSpec({ ...SPEC, mounts: [{ kind: 'bind' }] }, 'f'),
    /f: mounts: expected an array of mounts/,
  );
  assert.throws(
    () => parseLaunchSpec({ ...SPEC, process: { ...SPEC.process, uid: '0' } }, 'f'),
    /f: process: expected a process/,
  );
  assert.throws(
    () => parseLaunchSpec({ ...SPEC, rootImage: { mode: 'image', lowers: [] } }, 'f'),
    /f: rootImage: expected an image root/,
  );
});

test('an unreadable spec is an error with the file and the cause', () => {
  assert.throws(
    () => readLaunchSpec('/nonexistent/spec.json'),
    (e: unknown) =>
      e instanceof RuncvmError &&
      e.message === '/nonexistent/spec.json: cannot read the launch spec' &&
      (e.cause as NodeJS.ErrnoException).code === 'ENOENT',
  );
});

test('the guest root is a tagged union of what spec.json encodes by optional fields', () => {
  assert.deepEqual(guestRootOf(SPEC), { kind: 'virtiofs' });
  assert.deepEqual(guestRootOf({ rootImage: { mode: 'image', lowers: ['base.ext4'], upper: 'upper.ext4' } }), {
    kind: 'image',
    lowers: ['base.ext4'],
    upper: 'upper.ext4',
    tree: { kind: 'virtiofs' },
  });
  assert.deepEqual(
    guestRootOf({ rootImage: { mode: 'image', lowers: [], upper: 'u', host9pOptions: 'aname=/root' } }),
    {
      kind: 'image',
      lowers: [],
      upper: 'u',
      tree: { kind: '9p', options: 'aname=/root' },
    },
  );
});
