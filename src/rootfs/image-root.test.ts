// <layer>/runcvm is bound read-write into the launcher, so whatever a compromised VMM left there
// is hostile to `create`, which runs as host root: these tests plant entries at every name the
// host code makes and check that no host file is followed into (a file in a temp dir stands in
// for /etc/shadow).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareDrives, UPPER_SIZE_BYTES } from './image-root.ts';

const SECRET = 'root:$6$host-secret:19000:0:99999:7:::\n';

interface World {
  root: string;
  dir: string;
  layers: { upper: string; init: string };
  hostFile: string;
  /** A host path that does not exist: a dangling link must not create it. */
  hostMissing: string;
}

function world(opts: { emptyDiff?: boolean } = {}): World {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-image-root-test-'));
  const upper = join(root, 'layer', 'diff');
  const init = join(root, 'layer-init', 'diff');
  mkdirSync(upper, { recursive: true });
  mkdirSync(join(init, 'etc'), { recursive: true });
  if (!opts.emptyDiff) writeFileSync(join(upper, 'written-earlier'), 'x');
  writeFileSync(join(init, 'etc', 'hostname'), 'c0ffee\n');
  mkdirSync(join(root, 'host'));
  const hostFile = join(root, 'host', 'shadow');
  writeFileSync(hostFile, SECRET, { mode: 0o640 });
  return {
    root,
    dir: join(root, 'layer', 'runcvm'),
    layers: { upper, init },
    hostFile,
    hostMissing: join(root, 'host', 'created'),
  };
}

function hostUntouched(w: World): void {
  // Size first: a host file turned into a 64 GiB drive must not be read whole.
  assert.equal(lstatSync(w.hostFile).size, SECRET.length);
  assert.equal(readFileSync(w.hostFile, 'utf8'), SECRET);
  assert.equal(existsSync(w.hostMissing), false, 'a dangling link was followed and created its target');
  assert.deepEqual(readdirSync(join(w.root, 'host')).sort(), ['shadow']);
}

/** Every entry left in the drives dir is a plain file of ours; the drives are what the guest expects. */
function cleanDrives(w: World, lowers: string[]): void {
  for (const n of readdirSync(w.dir)) {
    const st = lstatSync(join(w.dir, n));
    assert.ok(st.isFile(), `${n} is not a regular file`);
    assert.equal(st.nlink, 1, `${n} has ${st.nlink} links`);
  }
  assert.deepEqual(readdirSync(w.dir).sort(), [...lowers, 'upper.ext4'].sort());
  assert.equal(lstatSync(join(w.dir, 'upper.ext4')).size, UPPER_SIZE_BYTES);
  if (lowers.includes('diff.ext4')) assert.match(ext4Ls(join(w.dir, 'diff.ext4')), /written-earlier/);
  assert.match(ext4Ls(join(w.dir, 'init.ext4')), /etc/);
}

function ext4Ls(file: string): string {
  const r = spawnSync('debugfs', ['-R', 'ls -l /', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function run(w: World): { lowers: string[] } | Error {
  try {
    return prepareDrives(w.dir, w.layers);
  } catch (e) {
    return e as Error;
  }
}

const NAMES = ['diff.ext4', 'init.ext4', 'base.ext4', 'upper.ext4', 'upper.ext4.tmp', 'upper.ext4.tmp-0123abcd'];

for (const emptyDiff of [false, true]) {
  for (const name of NAMES) {
    for (const target of ['existing', 'dangling'] as const) {
      test(`a symlink planted at runcvm/${name} to ${target === 'existing' ? 'a host file' : 'a missing host path'}${emptyDiff ? ' (empty diff layer)' : ''} is never followed`, () => {
        const w = world({ emptyDiff });
        mkdirSync(w.dir, { mode: 0o700 });
        symlinkSync(target === 'existing' ? w.hostFile : w.hostMissing, join(w.dir, name));
        const r = run(w);
        hostUntouched(w);
        // No guest data lives in a symlink: replacing it with a clean drive is the right outcome.
        assert.ok(!(r instanceof Error), `refused: ${(r as Error).message}`);
        cleanDrives(w, r.lowers);
        rmSync(w.root, { recursive: true });
      });
    }
  }
}

test('the runcvm dir itself a symlink (to a host dir) is refused, nothing is written through it', () => {
  const w = world();
  const elsewhere = join(w.root, 'host-etc');
  mkdirSync(elsewhere);
  symlinkSync(elsewhere, w.dir);
  const r = run(w);
  assert.ok(r instanceof Error, 'not refused');
  assert.match(r.message, /runcvm.*(symlink|not a directory)/);
  assert.deepEqual(readdirSync(elsewhere), []);
  hostUntouched(w);
  rmSync(w.root, { recursive: true });
});

test('the runcvm dir a regular file is refused', () => {
  const w = world();
  writeFileSync(w.dir, 'x');
  const r = run(w);
  assert.ok(r instanceof Error, 'not refused');
  assert.match(r.message, /runcvm: not a directory/);
  rmSync(w.root, { recursive: true });
});

for (const name of ['diff.ext4', 'base.ext4', 'upper.ext4']) {
  test(`a directory planted at runcvm/${name} is refused with the file named, its content untouched`, () => {
    const w = world();
    mkdirSync(join(w.dir, name), { recursive: true });
    symlinkSync(w.hostFile, join(w.dir, name, 'inside'));
    const r = run(w);
    assert.ok(r instanceof Error, 'not refused');
    assert.match(r.message, new RegExp(`${join(w.dir, name).replaceAll('.', '\\.')}: a directory`));
    assert.deepEqual(readdirSync(join(w.dir, name)), ['inside']);
    hostUntouched(w);
    rmSync(w.root, { recursive: true });
  });
}

test('a fifo planted at base.ext4 or upper.ext4 is replaced, never opened (opening one would hang create)', () => {
  const w = world();
  mkdirSync(w.dir, { mode: 0o700 });
  for (const n of ['base.ext4', 'upper.ext4']) assert.equal(spawnSync('mkfifo', [join(w.dir, n)]).status, 0);
  const r = run(w);
  assert.ok(!(r instanceof Error), `refused: ${(r as Error).message}`);
  cleanDrives(w, r.lowers);
  rmSync(w.root, { recursive: true });
});

test("an existing upper.ext4 (the guest's writes after a kill) is kept as it is", () => {
  const w = world();
  const first = prepareDrives(w.dir, w.layers);
  writeFileSync(join(w.dir, 'upper.ext4'), 'guest data', { flag: 'r+' });
  const again = prepareDrives(w.dir, w.layers);
  assert.deepEqual(again, first);
  const head = Buffer.alloc(10);
  const fd = openSync(join(w.dir, 'upper.ext4'), 'r');
  readSync(fd, head, 0, 10, 0);
  closeSync(fd);
  assert.equal(head.toString(), 'guest data');
  assert.equal(lstatSync(join(w.dir, 'upper.ext4')).size, UPPER_SIZE_BYTES);
  rmSync(w.root, { recursive: true });
});

test('an upper.ext4 hard-linked elsewhere is refused rather than handed to the VMM', () => {
  const w = world();
  prepareDrives(w.dir, w.layers);
  spawnSync('ln', [join(w.dir, 'upper.ext4'), join(w.root, 'layer', 'second-name')]);
  const r = run(w);
  assert.ok(r instanceof Error, 'not refused');
  assert.match(r.message, /upper\.ext4: 2 links/);
  rmSync(w.root, { recursive: true });
});

test('an empty diff layer leaves no diff.ext4: the lowers are init then base', () => {
  const w = world({ emptyDiff: true });
  mkdirSync(w.dir, { mode: 0o700 });
  writeFileSync(join(w.dir, 'diff.ext4'), 'stale from an earlier start');
  const r = prepareDrives(w.dir, w.layers);
  assert.deepEqual(r, { lowers: ['init.ext4', 'base.ext4'], upper: 'upper.ext4' });
  cleanDrives(w, r.lowers);
  rmSync(w.root, { recursive: true });
});
