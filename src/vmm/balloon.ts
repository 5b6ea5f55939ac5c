/**
 * Live guest-memory control through a balloon device, the same for every backend: QEMU's
 * virtio-balloon over QMP (qemu/balloon.ts), Firecracker's PATCH /balloon (not written yet).
 * Sizes are the memory the guest keeps, i.e. boot size minus what the balloon holds.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Balloon {
  /** Guest memory the VM has now, in MiB. */
  actualMiB(): Promise<number>;
  /** Asks the guest to give memory back (or take it back) until it has `mib`. Returns at once. */
  setTargetMiB(mib: number): Promise<void>;
  /**
   * What the guest says it could give back now (its MemAvailable), in MiB, asked for fresh;
   * undefined when the guest did not say.
   */
  availableMiB(): Promise<number | undefined>;
}

/** The guest's balloon driver works in pages; a few MiB of slack counts as reached. */
const TOLERANCE_MIB = 2;

/**
 * Sets the target and waits until the guest reached it. A guest that cannot free enough memory
 * (its processes use it) never gets there: the caller learns where it stopped.
 */
export async function resizeGuest(
  balloon: Balloon,
  targetMiB: number,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<{ reached: boolean; actualMiB: number }> {
  await balloon.setTargetMiB(targetMiB);
  const deadline = Date.now() + opts.timeoutMs;
  let last = Number.NaN;
  let lastChange = Date.now();
  for (;;) {
    const actual = await balloon.actualMiB();
    if (Math.abs(actual - targetMiB) <= TOLERANCE_MIB) return { reached: true, actualMiB: actual };
    if (actual !== last) {
      last = actual;
      lastChange = Date.now();
    }
    // Give up early when the balloon stopped moving: the guest has nothing more to give.
    const stalledMs = Date.now() - lastChange;
    if (Date.now() > deadline || stalledMs > opts.timeoutMs / 3) return { reached: false, actualMiB: actual };
    await sleep(opts.intervalMs ?? 100);
  }
}
