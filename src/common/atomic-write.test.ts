import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from './atomic-write.ts';

test('the file is replaced with the exact mode, and no temp file stays', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-atomic-'));
  try {
    const f = join(dir, 'spec.json');
    writeFileSync(f, 'old');
    writeFileAtomic(f, 'new', 0o600);
    assert.equal(readFileSync(f, 'utf8'), 'new');
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['spec.json']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('a failed replace leaves the old file and no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-atomic-'));
  try {
    const f = join(dir, 'd');
    mkdirSync(f);
    writeFileSync(join(f, 'x'), '');
    assert.throws(() => writeFileAtomic(f, 'new', 0o600), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(readdirSync(dir), ['d']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
