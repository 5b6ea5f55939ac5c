import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Qmp, QmpError } from './qmp.ts';
import { openQemuControl } from './control.ts';

/** An in-process QMP peer: greeting, then one reply per command line (recorded). */
async function stubQmp(reply: (cmd: { execute: string; arguments?: Record<string, unknown> }) => string): Promise<{ path: string; seen: unknown[]; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-qmp-'));
  const path = join(dir, 'qmp.sock');
  const seen: unknown[] = [];
  const server = createServer((s) => {
    s.write('{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22}}, "capabilities": []}}\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        seen.push(cmd);
        // An event in between must not be taken for the reply.
        s.write('{"event": "BALLOON_CHANGE", "data": {"actual": 1}}\r\n');
        s.write(`${reply(cmd)}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, seen, server, dir };
}

test('negotiates capabilities, matches replies to commands, surfaces QMP errors', async () => {
  const stub = await stubQmp((c) => c.execute === 'balloon' ? '{"error": {"class": "GenericError", "desc": "No balloon device has been activated"}}' : '{"return": {"actual": 268435456}}');
  try {
    const qmp = await Qmp.open(stub.path, 2000);
    assert.deepEqual(await qmp.execute('query-balloon'), { actual: 268435456 });
    await assert.rejects(qmp.execute('balloon', { value: 1 }), (e: unknown) => e instanceof QmpError && /qmp balloon: GenericError: No balloon device/.test(e.message));
    qmp.close();
    assert.deepEqual(stub.seen, [{ execute: 'qmp_capabilities' }, { execute: 'query-balloon' }, { execute: 'balloon', arguments: { value: 1 } }]);
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});

test('the QEMU control sends sizes in bytes and returns vCPU threads in vCPU order', async () => {
  const stub = await stubQmp((c) => {
    if (c.execute === 'query-cpus-fast') return '{"return": [{"cpu-index": 1, "thread-id": 42}, {"cpu-index": 0, "thread-id": 41}]}';
    if (c.execute === 'query-balloon') return '{"return": {"actual": 536870912}}';
    return '{"return": {}}';
  });
  try {
    const ctl = await openQemuControl(stub.path);
    assert.deepEqual(await ctl.vcpuThreads(), [41, 42]);
    assert.equal(await ctl.balloon.actualMiB(), 512);
    await ctl.balloon.setTargetMiB(256);
    ctl.close();
    assert.deepEqual(stub.seen.at(-1), { execute: 'balloon', arguments: { value: 256 * 1024 * 1024 } });
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});

test('a socket that never greets fails with the path and the deadline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-qmp-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await assert.rejects(Qmp.open(path, 100), { message: `qmp ${path}: no greeting within 100 ms` });
  } finally {
    server.close();
    rmSync(dir, { recursive: true });
  }
});
