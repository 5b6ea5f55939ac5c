import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MKE2FS, prepareDisks } from './disks.ts';

const haveMke2fs = existsSync(MKE2FS);

function withRoot(fn: (root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'runcvm-disks-'));
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const disk = { src: '/disks/d1', dst: '/data', fs: 'ext4' as const, sizeBytes: 16 << 20, serial: 'runcvm-disk0' };

test(
  'a new disk is a sparse file of the size, ext4, filled from dst',
  { skip: !haveMke2fs && 'no mke2fs' },
  withRoot(async (root) => {
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/seed.txt'), 'from the image\n');
    const devs = await prepareDisks([disk], root);
    assert.deepEqual(devs, [{ id: 'disk0', path: join(root, 'disks/d1'), readonly: false, serial: 'runcvm-disk0' }]);
    assert.equal(statSync(join(root, 'disks/d1')).size, 16 << 20);
    const ls = execFileSync('/usr/sbin/debugfs', ['-R', 'cat /seed.txt', join(root, 'disks/d1')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.equal(ls, 'from the image\n');
    // Second start: the existing file is used as it is (not reformatted).
    writeFileSync(join(root, 'data/seed.txt'), 'changed\n');
    await prepareDisks([disk], root);
    const again = execFileSync('/usr/sbin/debugfs', ['-R', 'cat /seed.txt', join(root, 'disks/d1')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.equal(again, 'from the image\n');
  }),
);

test(
  'a missing file without a size, and a directory as src, are refused',
  withRoot(async (root) => {
    await assert.rejects(
      prepareDisks([{ ...disk, sizeBytes: undefined }], root),
      /RUNCVM_DISKS: \/disks\/d1 does not exist and no size was given/,
    );
    mkdirSync(join(root, 'disks/d1'), { recursive: true });
    await assert.rejects(prepareDisks([disk], root), /exists but is not a regular file/);
  }),
);

test(
  'an image symlink cannot point the backing file outside the root',
  { skip: !haveMke2fs && 'no mke2fs' },
  withRoot(async (root) => {
    const outside = mkdtempSync(join(tmpdir(), 'runcvm-disks-out-'));
    try {
      symlinkSync(outside, join(root, 'disks'));
      const [dev] = await prepareDisks([disk], root);
      assert.equal(dev?.path, join(root, outside, 'd1'));
      assert.equal(existsSync(join(outside, 'd1')), false);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  }),
);
