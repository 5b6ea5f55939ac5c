import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { BALLOON_QOM_PATH } from './argv.ts';
import { freshGuestStats, parseGuestStats } from './balloon-stats.ts';
import { Qmp } from './qmp.ts';
import { type QmpCommand, stubQmp } from './testdata/stub-qmp.ts';

// QEMU's 2^64-1 as JSON.parse reads it.
const UNKNOWN = JSON.parse('18446744073709551615') as number;

test("the balloon's guest-stats: known figures kept, QEMU's 2^64-1 (not reported) left out", () => {
  assert.deepEqual(
    parseGuestStats({
      stats: {
        'stat-total-memory': 215695360,
        'stat-free-memory': 165777408,
        'stat-available-memory': 170975232,
        'stat-disk-caches': 4521984,
        'stat-major-faults': 14,
        'stat-swap-in': UNKNOWN,
      },
      'last-update': 1764720000,
    }),
    {
      totalBytes: 215695360,
      freeBytes: 165777408,
      availableBytes: 170975232,
      cachedBytes: 4521984,
      majorFaults: 14,
      lastUpdate: 1764720000,
    },
  );
  // Before the guest's first report every figure is unknown.
  assert.equal(
    parseGuestStats({ stats: { 'stat-total-memory': UNKNOWN, 'stat-free-memory': UNKNOWN }, 'last-update': 0 })
      ?.totalBytes,
    undefined,
  );
  for (const bad of [null, 'x', 42, { stats: { 'stat-free-memory': -1 } }, { stats: { 'stat-free-memory': 'big' } }])
    assert.equal(parseGuestStats(bad)?.freeBytes, undefined);
});

/**
 * A balloon device as QMP shows it: a report is held with its time; turning polling on makes the
 * guest answer `answerAfter` reads later (never, when undefined).
 */
function balloonDevice(held: number, answerAfter: number | undefined) {
  let reads = 0;
  let polling = false;
  let last = held;
  return (c: QmpCommand): string => {
    if (c.execute === 'qom-set') {
      polling = c.arguments?.value !== 0;
      reads = 0;
      return '{"return": {}}';
    }
    if (polling && answerAfter !== undefined && ++reads > answerAfter) last = Math.floor(Date.now() / 1000) + 1;
    return JSON.stringify({ return: { stats: { 'stat-available-memory': last * 1024 }, 'last-update': last } });
  };
}

test('a fresh report: polling on, the first newer report taken, polling off again', async () => {
  const stub = await stubQmp(balloonDevice(1000, 2));
  try {
    const qmp = await Qmp.connect(stub.path, 2000);
    const m = await freshGuestStats(qmp, 2000);
    qmp.close();
    assert.ok(m?.lastUpdate && m.lastUpdate > 1000 && m.availableBytes === m.lastUpdate * 1024, JSON.stringify(m));
    const sets = stub.seen.filter((c) => (c as QmpCommand).execute === 'qom-set');
    assert.deepEqual(sets, [
      { execute: 'qom-set', arguments: { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value: 1 } },
      { execute: 'qom-set', arguments: { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value: 0 } },
    ]);
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});

test('a guest that never answers: no figures (the old report is not taken for new), polling off again', async () => {
  const stub = await stubQmp(balloonDevice(1000, undefined));
  try {
    const qmp = await Qmp.connect(stub.path, 2000);
    assert.equal(await freshGuestStats(qmp, 200), undefined);
    qmp.close();
    assert.deepEqual((stub.seen.at(-1) as QmpCommand).arguments?.value, 0);
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});
