/** VmControl (../driver.ts) over QMP: the balloon, and the vCPU thread ids for pinning. */
import type { VmControl } from '../driver.ts';
import { Qmp } from './qmp.ts';

const MIB = 1024 * 1024;

export async function openQemuControl(qmpSocket: string): Promise<VmControl> {
  const qmp = await Qmp.open(qmpSocket);
  return {
    balloon: {
      async actualMiB() {
        const r = (await qmp.execute('query-balloon')) as { actual: number };
        return Math.round(r.actual / MIB);
      },
      async setTargetMiB(mib) {
        await qmp.execute('balloon', { value: mib * MIB });
      },
    },
    async vcpuThreads() {
      const cpus = (await qmp.execute('query-cpus-fast')) as { 'cpu-index': number; 'thread-id': number }[];
      return [...cpus].sort((a, b) => a['cpu-index'] - b['cpu-index']).map((c) => c['thread-id']);
    },
    close: () => qmp.close(),
  };
}
