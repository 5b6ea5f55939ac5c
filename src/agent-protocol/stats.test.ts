/**
 * STATS (a pod-VM container's guest cgroup figures, docs/agent-protocol.md): the request the
 * shim sends and the answer's records, as the agent encodes them (u16 tag, u32 length 8, u64).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeStats, encodeStatsRequest, StartTag, StatsTag } from './messages.ts';

test('a STATS request is ARG "stats" and the container name, nothing else', () => {
  const b = encodeStatsRequest('web-1');
  assert.deepEqual(
    b,
    Buffer.concat([
      Buffer.from([StartTag.ARG, 0, 5, 0, 0, 0]),
      Buffer.from('stats'),
      Buffer.from([StartTag.STATS, 0, 5, 0, 0, 0]),
      Buffer.from('web-1'),
    ]),
  );
});

test('a STATS answer decodes to its u64 records; a record that is not a u64 is refused', () => {
  const rec = (tag: number, v: bigint) => {
    const b = Buffer.alloc(14);
    b.writeUInt16LE(tag, 0);
    b.writeUInt32LE(8, 2);
    b.writeBigUInt64LE(v, 6);
    return b;
  };
  const p = Buffer.concat([
    rec(StatsTag.MEMORY_USAGE, 70_254_592n),
    rec(StatsTag.MEMORY_LIMIT, 2n ** 64n - 1n),
    rec(StatsTag.CPU_USAGE_USEC, 850_000n),
  ]);
  const m = decodeStats(p);
  assert.equal(m.get(StatsTag.MEMORY_USAGE), 70_254_592n);
  assert.equal(m.get(StatsTag.MEMORY_LIMIT), 2n ** 64n - 1n);
  assert.equal(m.get(StatsTag.CPU_USAGE_USEC), 850_000n);
  assert.equal(m.size, 3);
  assert.throws(() => decodeStats(p.subarray(0, 20)), /not a u64|truncated/);
  const short = Buffer.from([StatsTag.ANON, 0, 4, 0, 0, 0, 1, 2, 3, 4]);
  assert.throws(() => decodeStats(short), /record 3 is not a u64/);
});
