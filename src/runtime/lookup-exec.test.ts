import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lookupExecError } from './lookup-exec.ts';

function image(): string {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-lookup-'));
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin/busybox'), '', { mode: 0o755 });
  symlinkSync('/bin/busybox', join(root, 'bin/sh'));
  writeFileSync(join(root, 'bin/data'), '', { mode: 0o644 });
  return root;
}

test('found in PATH, through an absolute symlink inside the image', () => {
  const root = image();
  try {
    assert.equal(lookupExecError(root, 'sh', '/bin', '/', []), null);
    assert.equal(lookupExecError(root, '/bin/sh', '/bin', '/', []), null);
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('runc messages for missing and non-executable commands', () => {
  const root = image();
  try {
    assert.equal(lookupExecError(root, 'nope', '/bin', '/', []), 'exec: "nope": executable file not found in $PATH');
    assert.equal(
      lookupExecError(root, '/nope', '/bin', '/', []),
      'exec: "/nope": stat /nope: no such file or directory',
    );
    assert.equal(lookupExecError(root, '/bin/data', '/bin', '/', []), 'exec: "/bin/data": permission denied');
    assert.equal(lookupExecError(root, '/bin', '/bin', '/', []), 'exec: "/bin": permission denied');
  } finally {
    rmSync(root, { recursive: true });
  }
});

test('commands under a volume are left to the guest', () => {
  const root = image();
  try {
    assert.equal(lookupExecError(root, '/opt/tools/run', '/bin', '/', ['/opt/tools']), null);
    assert.equal(lookupExecError(root, 'run', '/opt/tools', '/', ['/opt/tools']), null);
  } finally {
    rmSync(root, { recursive: true });
  }
});
