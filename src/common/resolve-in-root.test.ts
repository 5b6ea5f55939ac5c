import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveInRoot } from './resolve-in-root.ts';

function makeRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-resolve-'));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  symlinkSync('/usr/bin', join(root, 'data'));
  symlinkSync('../../usr/sbin', join(root, 'vol'));
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('/../../../../etc', join(root, 'escape'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  return root;
}

test('absolute and relative symlinks stay inside the root', () => {
  const root = makeRoot();
  try {
    assert.equal(resolveInRoot(root, '/data'), '/usr/bin');
    assert.equal(resolveInRoot(root, '/vol'), '/usr/sbin');
    assert.equal(resolveInRoot(root, '/bin/sh'), '/usr/bin/sh');
    assert.equal(resolveInRoot(root, '/escape/passwd'), '/etc/passwd');
    assert.equal(resolveInRoot(root, '/../../x'), '/x');
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('a missing tail is kept literally and a loop is an error', () => {
  const root = makeRoot();
  try {
    assert.equal(resolveInRoot(root, '/new/dir/../file'), '/new/file');
    assert.throws(() => resolveInRoot(root, '/loop1'), /too many levels/);
  } finally {
    rmSync(root, { recursive: true });
  }
});
