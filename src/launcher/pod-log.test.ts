/** The pod VM's log copy (pod-log.ts): capped, and what is left of the cap for the supervisor. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { POD_LOG_FILE } from '../contracts/launch-spec.ts';
import { MAX_BYTES, teeStderrToPodLog } from './pod-log.ts';

test('no pod log dir: nothing copied, no path for the supervisor', () => {
  const c = teeStderrToPodLog('/nonexistent-runcvm-pod-log');
  assert.equal(c.path, undefined);
  assert.equal(c.written(), 0);
  c.stop();
});

test("stderr is copied to the pod log, and written() is what the supervisor's budget is taken from", () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-pod-log-'));
  const original = process.stderr.write;
  // Nothing reaches the test runner's stderr: the copy is what is checked.
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const c = teeStderrToPodLog(dir);
    process.stderr.write('runcvm: the VM stopped\n');
    assert.equal(c.path, join(dir, POD_LOG_FILE));
    assert.equal(c.written(), 23);
    process.stderr.write(Buffer.alloc(MAX_BYTES, 'x'));
    assert.equal(c.written(), MAX_BYTES);
    c.stop();
    assert.equal(readFileSync(join(dir, POD_LOG_FILE)).length, MAX_BYTES);
  } finally {
    process.stderr.write = original;
    rmSync(dir, { recursive: true, force: true });
  }
});
