import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DnsLimiter, servfail } from './dns-limit.ts';

/** A query for example.com A, id 0xbeef, RD set. */
function query(): Buffer {
  const name = Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]);
  const head = Buffer.from([0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([head, name, Buffer.from([0, 1, 0, 1])]);
}

test('SERVFAIL keeps the id, RD and the question, sets QR, RA and RCODE 2', () => {
  const q = query();
  const a = servfail(q) as Buffer;
  assert.equal(a.readUInt16BE(0), 0xbeef);
  assert.equal(a[2], 0x81);
  assert.equal(a[3], 0x82);
  assert.deepEqual([a.readUInt16BE(4), a.readUInt16BE(6), a.readUInt16BE(8), a.readUInt16BE(10)], [1, 0, 0, 0]);
  assert.deepEqual(a.subarray(12), q.subarray(12));
});

test('SERVFAIL of a malformed question is a bare header; of a runt, nothing', () => {
  const q = query().subarray(0, 20);
  const a = servfail(q) as Buffer;
  assert.equal(a.length, 12);
  assert.equal(a.readUInt16BE(4), 0);
  assert.equal(servfail(Buffer.alloc(5)), undefined);
  const pointer = Buffer.concat([query().subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.equal((servfail(pointer) as Buffer).length, 12);
});

test('queries over the cap are answered SERVFAIL at once and counted; the cap frees up', async () => {
  const waiting: Array<(b: Buffer) => void> = [];
  const limiter = new DnsLimiter(() => new Promise((r) => waiting.push(r)), 2);
  const first = [limiter.relay(query()), limiter.relay(query())];
  const over = await limiter.relay(query());
  assert.equal(over?.[3], 0x82);
  assert.equal(limiter.refused, 1);
  assert.equal(limiter.pending(), 2);
  for (const r of waiting.splice(0)) r(Buffer.from('answer'));
  assert.deepEqual((await Promise.all(first)).map(String), ['answer', 'answer']);
  assert.equal(limiter.pending(), 0);
  const again = limiter.relay(query());
  (waiting.shift() as (b: Buffer) => void)(Buffer.from('late'));
  assert.equal(String(await again), 'late');
  assert.equal(limiter.refused, 1);
});
