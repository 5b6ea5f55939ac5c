/** VmControl (../driver.ts) over QMP: the balloon, and the vCPU thread ids for pinning. */
import type { VmControl } from '../driver.ts';
import { freshGuestStats } from './balloon-stats.ts';
import type { Qmp } from './qmp.ts';

const MIB = 1024 * 1024;

/** QMP replies come from a VMM we do not trust once the guest may own it: check their shape. */
function expect(ok: boolean, command: string, got: unknown): void {
  if (!ok) throw new Error(`qmp ${command}: unexpected reply ${JSON.stringify(got)?.slice(0, 200)}`);
}

/** `qmp` has finished its handshake (Qmp.open / Qmp.connect); closing the control closes it. */
export function qemuControl(qmp: Qmp): VmControl {
  return {
    balloon: {
      async actualMiB() {
        const r = (await qmp.execute('query-balloon')) as { actual?: unknown } | undefined;
        expect(typeof r?.actual === 'number' && Number.isFinite(r.actual), 'query-balloon', r);
        return Math.round((r?.actual as number) / MIB);
      },
      async setTargetMiB(mib) {
        await qmp.execute('balloon', { value: mib * MIB });
      },
      async availableMiB() {
        const bytes = (await freshGuestStats(qmp))?.availableBytes;
        return bytes === undefined ? undefined : Math.floor(bytes / MIB);
      },
    },
    async vcpuThreads() {
      const cpus = (await qmp.execute('query-cpus-fast')) as { 'cpu-index': number; 'thread-id': number }[];
      // The ids end up on taskset's command line.
      const valid = (c: (typeof cpus)[number]) =>
        Number.isSafeInteger(c?.['cpu-index']) && Number.isSafeInteger(c?.['thread-id']) && c['thread-id'] > 0;
      expect(Array.isArray(cpus) && cpus.every(valid), 'query-cpus-fast', cpus);
      return [...cpus].sort((a, b) => a['cpu-index'] - b['cpu-index']).map((c) => c['thread-id']);
    },
    close: () => qmp.close(),
  };
}
