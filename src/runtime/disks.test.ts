import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskSerial, parseDisks, parseSize } from './disks.ts';
import { OptionError, parseOptions } from './options.ts';

test('the reference syntax: several disks, size optional', () => {
  assert.deepEqual(parseDisks('/disks/docker,/var/lib/docker,ext4,1G;/disks/b,/b/,ext3'), [
    { src: '/disks/docker', dst: '/var/lib/docker', fs: 'ext4', sizeBytes: 2 ** 30 },
    { src: '/disks/b', dst: '/b', fs: 'ext3', sizeBytes: undefined },
  ]);
  assert.deepEqual(parseDisks(undefined), []);
  assert.deepEqual(parseDisks(' ; '), []);
});

test('sizes take truncate-style suffixes', () => {
  assert.equal(parseSize('512M'), 512 * 2 ** 20);
  assert.equal(parseSize('2g'), 2 * 2 ** 30);
  assert.equal(parseSize('64MiB'), 64 * 2 ** 20);
  assert.equal(parseSize('1.5G'), undefined);
});

test('bad entries name the option and what is allowed', () => {
  const cases: [string, RegExp][] = [
    ['/d,/x', /RUNCVM_DISKS: "\/d,\/x" has 2 fields \(syntax: <src>,<dst>,<fs>\[,<size>\]/],
    ['/d,/x,xfs,1G', /unknown filesystem "xfs" .*\(allowed: ext4, ext3, ext2\)/],
    ['/d,/x,ext4,lots', /invalid size "lots" .*\(allowed: a number of bytes with an optional K, M, G or T suffix/],
    ['/d,/x,ext4,1K', /below the minimum of 4M/],
    ['disk,/x,ext4,1G', /src "disk" .* must be an absolute path/],
    ['/x/d,/x,ext4,1G', /must not be dst "\/x" or inside it/],
    ['/d,/,ext4,1G', /dst .* cannot be \//],
    ['/d,/x,ext4,1G;/e,/x,ext4,1G', /dst "\/x" appears twice/],
  ];
  for (const [value, re] of cases) {
    assert.throws(
      () => parseDisks(value),
      (e: Error) => e instanceof OptionError && re.test(e.message),
      value,
    );
  }
  const nine = Array.from({ length: 9 }, (_, i) => `/d${i},/m${i},ext4,8M`).join(';');
  assert.throws(() => parseDisks(nine), /at most 8/);
});

test("RUNCVM_DISKS is a known option and serials fit virtio-blk's 20 bytes", () => {
  assert.doesNotThrow(() => parseOptions(['RUNCVM_DISKS=/d,/x,ext4,1G']));
  assert.ok(diskSerial(7).length <= 20);
});
