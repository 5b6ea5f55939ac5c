import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cacheKeyOf } from '../rootfs/image-root.ts';
import { ImageCache, parseCacheMax } from './cache.ts';
import type { NewFile } from './pinned-dir.ts';

const K1 = 'a'.repeat(64);
const K2 = 'b'.repeat(64);
const K3 = 'c'.repeat(64);

function fresh(): ImageCache {
  return new ImageCache(mkdtempSync(join(tmpdir(), 'runcvm-cache-test-')));
}

function age(c: ImageCache, key: string, msAgo: number): void {
  const t = new Date(Date.now() - msAgo);
  utimesSync(join(c.dir, `${key}.json`), t, t);
}

test('a miss builds once, a hit does not build again', () => {
  const c = fresh();
  let builds = 0;
  const build = (out: NewFile) => {
    builds++;
    writeFileSync(out.fd, Buffer.alloc(1000));
  };
  assert.equal(c.getOrBuild(K1, 'img', build).built, true);
  assert.equal(c.getOrBuild(K1, 'img', build).built, false);
  assert.equal(builds, 1);
  assert.deepEqual(
    c.list().map((e) => [e.key, e.sizeBytes, e.source]),
    [[K1, 1000, 'img']],
  );
  rmSync(c.dir, { recursive: true });
});

test('a failed build leaves nothing that is served later, and the next start rebuilds', () => {
  const c = fresh();
  assert.throws(
    () =>
      c.getOrBuild(K1, 'img', (out) => {
        writeFileSync(out.fd, 'half');
        throw new Error('mkfs died');
      }),
    /mkfs died/,
  );
  assert.deepEqual(readdirSync(c.dir), []);
  assert.equal(c.getOrBuild(K1, 'img', (out) => writeFileSync(out.fd, 'whole')).built, true);
  rmSync(c.dir, { recursive: true });
});

test('an ext4 without its metadata (builder killed between rename and metadata) is rebuilt, and pruned as an orphan', () => {
  const c = fresh();
  writeFileSync(join(c.dir, `${K1}.ext4`), 'orphan');
  writeFileSync(join(c.dir, `${K2}.ext4.tmp-999999999`), 'tmp of a dead builder (earlier name)');
  writeFileSync(join(c.dir, `${K3}.ext4.tmp-999999999-0123456789abcdef`), 'tmp of a dead builder');
  mkdirSync(join(c.dir, 'mnt-999999999-x1'));
  assert.deepEqual(c.list(), []);
  c.prune(Number.MAX_SAFE_INTEGER);
  assert.deepEqual(readdirSync(c.dir), []);
  rmSync(c.dir, { recursive: true });
});

test('the lock of a dead builder is taken over; a live one is waited for', () => {
  const c = fresh();
  writeFileSync(join(c.dir, `${K1}.lock`), '999999999');
  assert.equal(c.getOrBuild(K1, 'img', (out) => writeFileSync(out.fd, 'x')).built, true);
  assert.equal(existsSync(join(c.dir, `${K1}.lock`)), false);
  rmSync(c.dir, { recursive: true });
});

test('no link in the cache dir is followed: a linked ext4 is rebuilt, not served; a linked lock is taken over', () => {
  const c = fresh();
  const outside = mkdtempSync(join(tmpdir(), 'runcvm-cache-test-host-'));
  const hostFile = join(outside, 'shadow');
  writeFileSync(hostFile, 'secret');
  // Metadata that matches the link target's size: the link must still never reach runc.
  writeFileSync(join(c.dir, `${K1}.json`), JSON.stringify({ key: K1, source: 'img', sizeBytes: 6, builtAtMs: 0 }));
  symlinkSync(hostFile, join(c.dir, `${K1}.ext4`));
  symlinkSync(hostFile, join(c.dir, `${K2}.lock`));
  symlinkSync(hostFile, join(c.dir, `${K2}.json`));
  assert.deepEqual(c.list(), []);
  const r1 = c.getOrBuild(K1, 'img', (out) => writeFileSync(out.fd, 'built'));
  const r2 = c.getOrBuild(K2, 'img', (out) => writeFileSync(out.fd, 'built'));
  assert.deepEqual([r1.built, r2.built], [true, true]);
  for (const f of [r1.file, r2.file, join(c.dir, `${K1}.json`), join(c.dir, `${K2}.json`)])
    assert.ok(lstatSync(f).isFile(), `${f} is not a regular file`);
  assert.equal(readFileSync(r1.file, 'utf8'), 'built');
  assert.equal(readFileSync(hostFile, 'utf8'), 'secret');
  assert.deepEqual(readdirSync(outside), ['shadow']);
  rmSync(c.dir, { recursive: true });
  rmSync(outside, { recursive: true });
});

test('a cache dir that is a symlink, or writable by others, is refused', () => {
  const c = fresh();
  const link = new ImageCache(`${c.dir}-link`);
  symlinkSync(c.dir, link.dir);
  assert.throws(
    () => link.getOrBuild(K1, 'img', () => assert.fail('built through a link')),
    /is a symlink: refusing it/,
  );
  rmSync(link.dir);
  chmodSync(c.dir, 0o777);
  assert.throws(() => c.getOrBuild(K1, 'img', () => assert.fail('built in a shared dir')), /writable by us alone/);
  rmSync(c.dir, { recursive: true });
});

test('prune evicts least recently used first, never an entry in use or just picked', () => {
  const c = fresh();
  for (const k of [K1, K2, K3]) c.getOrBuild(k, k.slice(0, 1), (out) => writeFileSync(out.fd, Buffer.alloc(1000)));
  age(c, K1, 3_600_000); // oldest, but in use
  age(c, K2, 1_800_000);
  age(c, K3, 1_000); // picked a second ago by a starting container
  const evicted = c.prune(1500, (e) => e.key === K1);
  assert.deepEqual(
    evicted.map((e) => e.key),
    [K2],
  );
  assert.deepEqual(
    c
      .list()
      .map((e) => e.key)
      .sort(),
    [K1, K3],
  );
  // Over the cap still, but nothing else may go.
  assert.deepEqual(
    c.prune(0, (e) => e.key === K1).map((e) => e.key),
    [],
  );
  assert.deepEqual(
    c
      .prune(0, () => false, Date.now() + 3_600_000)
      .map((e) => e.key)
      .sort(),
    [K1, K3],
  );
  rmSync(c.dir, { recursive: true });
});

test('cache keys: the chain ID when Docker has one, else the layer dirs; different inputs differ', () => {
  const a = cacheKeyOf(`sha256:${'1'.repeat(64)}`, ['/x']);
  assert.equal(a.source, `sha256:${'1'.repeat(64)}`);
  assert.match(a.key, /^[0-9a-f]{64}$/);
  assert.notEqual(cacheKeyOf(undefined, ['/x', '/y']).key, cacheKeyOf(undefined, ['/y', '/x']).key);
  assert.equal(cacheKeyOf(undefined, ['/x']).key, cacheKeyOf(undefined, ['/x']).key);
});

test('parseCacheMax: default, suffixes, errors', () => {
  assert.equal(parseCacheMax(undefined), 20 * 1024 ** 3);
  assert.equal(parseCacheMax('100k'), 102400);
  assert.equal(parseCacheMax('3GiB'), 3 * 1024 ** 3);
  assert.throws(() => parseCacheMax('-1'), /allowed|size such as/);
});
