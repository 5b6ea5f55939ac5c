import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildRuntimeRoot } from './runtime-root.ts';

test('mirrors merged-/usr symlinks, binds real dirs, and is idempotent', () => {
  const base = mkdtempSync(join(tmpdir(), 'runcvm-rt-'));
  try {
    const host = join(base, 'host');
    mkdirSync(join(host, 'usr/bin'), { recursive: true });
    symlinkSync('usr/bin', join(host, 'bin'));
    mkdirSync(join(host, 'lib64'));
    const rt = join(base, 'rt');
    for (let i = 0; i < 2; i++) {
      const plan = buildRuntimeRoot(rt, host);
      assert.deepEqual(plan.hostDirs, ['lib64']);
    }
    assert.equal(readlinkSync(join(rt, 'bin')), 'usr/bin');
    assert.equal(readlinkSync(join(rt, 'var/run')), '../run');
    for (const d of ['usr', 'vm', 'opt/runcvm', '.runcvm', 'etc/ld.so.cache', 'lib64'])
      assert.ok(existsSync(join(rt, d)), d);
  } finally {
    rmSync(base, { recursive: true });
  }
});
