import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Balloon, resizeGuest } from './balloon.ts';

/** A guest that gives back `step` MiB per poll, down to `floor`. */
function fakeBalloon(start: number, step: number, floor: number): Balloon & { target: number } {
  let actual = start;
  const b = {
    target: start,
    async actualMiB() {
      if (actual > b.target) actual = Math.max(b.target, floor, actual - step);
      else if (actual < b.target) actual = Math.min(b.target, actual + step);
      return actual;
    },
    async setTargetMiB(mib: number) {
      b.target = mib;
    },
    async availableMiB() {
      return actual - floor;
    },
  };
  return b;
}

test('waits until the guest reached the target', async () => {
  const b = fakeBalloon(512, 64, 0);
  assert.deepEqual(await resizeGuest(b, 256, { timeoutMs: 1000, intervalMs: 1 }), { reached: true, actualMiB: 256 });
  assert.deepEqual(await resizeGuest(b, 512, { timeoutMs: 1000, intervalMs: 1 }), { reached: true, actualMiB: 512 });
});

test('a guest that stops giving memory back is reported where it stopped, before the deadline', async () => {
  const b = fakeBalloon(512, 64, 300);
  const t0 = Date.now();
  const r = await resizeGuest(b, 128, { timeoutMs: 3000, intervalMs: 5 });
  assert.deepEqual(r, { reached: false, actualMiB: 300 });
  assert.ok(Date.now() - t0 < 2500, 'gave up once the balloon stalled');
});
