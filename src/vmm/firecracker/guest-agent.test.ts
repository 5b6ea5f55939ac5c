/**
 * The guest agent's Firecracker pieces, compiled (-Werror) and run on the host: transport choice
 * (virtio-serial port vs vsock), drive order by MMIO address, the DRIVE_ORDER CONFIG record and
 * the vsock listener (skipped by the C test where the host has no AF_VSOCK). A VM reaching the
 * agent over vsock needs Firecracker and KVM: test/e2e/firecracker.test.ts.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const AGENT_SRC = fileURLToPath(new URL('../../../guest/agent', import.meta.url));

test('guest agent host-side C tests pass (make test)', () => {
  const out = mkdtempSync(join(tmpdir(), 'runcvm-agent-test-'));
  try {
    const r = spawnSync('make', ['-s', '-C', AGENT_SRC, `OUT=${out}`, 'test'], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ok$/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
