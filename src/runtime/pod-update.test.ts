import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, MsgType } from '../agent-protocol/frame.ts';
import { StartTag } from '../agent-protocol/messages.ts';
import { readTlv } from '../agent-protocol/testdata/tlv-reader.ts';
import { cpuWeightOfShares, hostResources, podUpdateOf, sendPodUpdate } from './pod-update.ts';

test("cpu.shares become runc's cpu.weight (linear up to runc 1.3.1): the ends and the kubelet's values", () => {
  assert.equal(cpuWeightOfShares(2), 1);
  assert.equal(cpuWeightOfShares(1024), 39);
  assert.equal(cpuWeightOfShares(512), 20);
  assert.equal(cpuWeightOfShares(262_144), 10_000);
  assert.equal(cpuWeightOfShares(0), undefined);
  assert.equal(cpuWeightOfShares(undefined), undefined);
  assert.throws(() => cpuWeightOfShares(1), /cpu\.shares 1: allowed 2 to 262144/);
  assert.throws(() => cpuWeightOfShares(262_145), /allowed 2 to 262144/);
});

test('an update changes only what it names; -1 lifts a limit, 0 leaves it', () => {
  assert.deepEqual(
    podUpdateOf('web', { memory: { limit: 128 * 2 ** 20 }, cpu: { quota: 20_000, period: 50_000, shares: 512 } }),
    { name: 'web', memoryMaxBytes: 128 * 2 ** 20, cpuMax: { quotaUs: 20_000, periodUs: 50_000 }, cpuWeight: 20 },
  );
  assert.deepEqual(podUpdateOf('web', { memory: { limit: -1 }, cpu: { quota: -1 } }), {
    name: 'web',
    memoryMaxBytes: 0,
    cpuMax: { quotaUs: 0, periodUs: 100_000 },
  });
  assert.deepEqual(podUpdateOf('web', { memory: { limit: 0 }, cpu: { quota: 0, shares: 0 } }), { name: 'web' });
  assert.deepEqual(podUpdateOf('web', {}), { name: 'web' });
  assert.throws(() => podUpdateOf('web', { cpu: { quota: 10 } }), /cpu\.quota 10: allowed 1000 microseconds or more/);
  assert.throws(() => podUpdateOf('web', { cpu: { quota: 50_000, period: 10 } }), /cpu\.period 10/);
  assert.throws(() => podUpdateOf('web', { memory: { limit: -5 } }), /memory\.limit -5/);
});

test("runc keeps the client's host memory limit: memory is left out of what it gets", () => {
  assert.deepEqual(hostResources({ memory: { limit: 1, swap: 1 }, cpu: { shares: 2 } }), { cpu: { shares: 2 } });
});

/** A pod socket that answers one START with `answer` and records what it got. */
async function podSocket(dir: string, answer: (id: number) => Buffer) {
  const got: Buffer[] = [];
  const server = createServer((c) => {
    const d = new FrameDecoder();
    c.on('data', (b: Buffer) => {
      for (const f of d.push(b)) {
        got.push(f.payload);
        c.write(answer(f.id));
      }
    });
  });
  await new Promise<void>((r) => server.listen(join(dir, 'exec.sock'), r));
  return { got, close: () => new Promise((r) => server.close(r)) };
}

test('sendPodUpdate sends START with UPDATE and resolves on EXIT, rejects with the agent ERROR text', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pod-update-'));
  try {
    let reply = (id: number) => encodeFrame(MsgType.EXIT, id, Buffer.alloc(8));
    const s = await podSocket(dir, (id) => reply(id));
    await sendPodUpdate(dir, { name: 'web', cpuWeight: 39 });
    const recs = readTlv(s.got[0] as Buffer);
    assert.deepEqual(
      recs.map((r) => [r.tag, r.tag === StartTag.CPU_WEIGHT ? r.value.readUInt32LE(0) : r.value.toString()]),
      [
        [StartTag.ARG, 'update'],
        [StartTag.UPDATE, 'web'],
        [StartTag.CPU_WEIGHT, 39],
      ],
    );
    const err = Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('container web is not running in this pod VM')]);
    reply = (id) => encodeFrame(MsgType.ERROR, id, err);
    await assert.rejects(
      sendPodUpdate(dir, { name: 'web', memoryMaxBytes: 0 }),
      /web in the pod VM: container web is not running/,
    );
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sendPodUpdate refuses a missing socket or a symlink in its place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pod-update-'));
  try {
    await assert.rejects(sendPodUpdate(dir, { name: 'web' }), /no pod VM socket at .*exec\.sock/);
    symlinkSync('/run/docker.sock', join(dir, 'exec.sock'));
    await assert.rejects(sendPodUpdate(dir, { name: 'web' }), /no pod VM socket/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
