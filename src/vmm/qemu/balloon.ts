/** The Balloon interface (../balloon.ts) over QMP: `balloon` sets the target, `query-balloon` reads it back. */
import type { Balloon } from '../balloon.ts';
import { Qmp } from './qmp.ts';

const MIB = 1024 * 1024;

export async function openQemuBalloon(qmpSocket: string): Promise<Balloon> {
  const qmp = await Qmp.open(qmpSocket);
  return {
    async actualMiB() {
      const r = (await qmp.execute('query-balloon')) as { actual: number };
      return Math.round(r.actual / MIB);
    },
    async setTargetMiB(mib) {
      await qmp.execute('balloon', { value: mib * MIB });
    },
    close: () => qmp.close(),
  };
}
