/**
 * The guest's own memory figures from virtio-balloon statistics, asked for once and not left
 * running: QEMU asks the guest at once when polling is turned on, and we turn it off again after
 * the answer. Standing polling made a guest whose balloon inflated over memory it could not free
 * panic instead of the balloon stalling (argv.ts). Used by docker update (how much the guest can
 * give before the balloon is set) and by `runcvm metrics`. Every figure comes from the guest:
 * taken only when finite and in range.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BALLOON_QOM_PATH, BALLOON_STATS_INTERVAL_S } from './argv.ts';
import type { Qmp } from './qmp.ts';

/** The balloon reports a figure it does not have as 2^64 - 1. */
const UNKNOWN = 2 ** 63;

/** QEMU asks at once; a guest under TCG on a loaded host may take a while to answer. */
const ANSWER_WAIT_MS = 3000;
const ANSWER_POLL_MS = 50;

export interface GuestMemory {
  totalBytes?: number;
  freeBytes?: number;
  availableBytes?: number;
  cachedBytes?: number;
  majorFaults?: number;
  /** Epoch seconds (host clock) of the guest's last report (0: none yet). */
  lastUpdate?: number;
}

export function figure(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < UNKNOWN ? v : undefined;
}

/** qom-get guest-stats: {stats: {stat-*: n}, last-update: n}; unknown figures are left out. */
export function parseGuestStats(ret: unknown): GuestMemory | undefined {
  if (typeof ret !== 'object' || ret === null) return undefined;
  const r = ret as { stats?: Record<string, unknown>; 'last-update'?: unknown };
  const s = typeof r.stats === 'object' && r.stats !== null ? r.stats : {};
  const m: GuestMemory = {
    totalBytes: figure(s['stat-total-memory']),
    freeBytes: figure(s['stat-free-memory']),
    availableBytes: figure(s['stat-available-memory']),
    cachedBytes: figure(s['stat-disk-caches']),
    majorFaults: figure(s['stat-major-faults']),
    lastUpdate: figure(r['last-update']),
  };
  return Object.values(m).some((v) => v !== undefined) ? m : undefined;
}

/**
 * One fresh report: turns polling on, waits for a report newer than the one QEMU held before,
 * turns polling off. Undefined when the guest did not answer in time (a guest without the
 * balloon driver, or one too busy): callers decide without the figures.
 */
export async function freshGuestStats(qmp: Qmp, waitMs = ANSWER_WAIT_MS): Promise<GuestMemory | undefined> {
  const read = async () =>
    parseGuestStats(await qmp.execute('qom-get', { path: BALLOON_QOM_PATH, property: 'guest-stats' }));
  const setInterval = (value: number) =>
    qmp.execute('qom-set', { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value });
  const before = (await read())?.lastUpdate ?? 0;
  // last-update has a resolution of one second: a report in the same second as `before` would
  // look old, so one in a later second is asked for.
  const since = Math.max(before + 1, Math.floor(Date.now() / 1000));
  await setInterval(BALLOON_STATS_INTERVAL_S);
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const m = await read();
      if (m && (m.lastUpdate ?? 0) >= since) return m;
      if (Date.now() > deadline) return undefined;
      await sleep(ANSWER_POLL_MS);
    }
  } finally {
    await setInterval(0);
  }
}
