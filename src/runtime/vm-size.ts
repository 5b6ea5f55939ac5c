/**
 * Guest vCPUs and memory from the container's resources, and the container memory limit that
 * must also cover the VMM, virtiofsd and the launcher.
 */

import { OptionError } from '../contracts/errors.ts';
import type { OciResources } from '../oci/spec.ts';
import { parseCpuList } from '../vmm/cpu-pinning.ts';

export const DEFAULT_MEMORY_MIB = 512;
export const MIN_MEMORY_MIB = 128;
/** Measured: QEMU ~60 MiB + TCG code cache up to 64 MiB + virtiofsd + node launcher. */
export const VMM_OVERHEAD_MIB = 256;
const MIB = 1024 * 1024;

export interface VmSize {
  cpus: number;
  memoryMiB: number;
  /** --cpuset-cpus, when given: the host CPUs the vCPU threads are pinned to. */
  hostCpus?: number[];
}

export function vmSize(res: OciResources | undefined): VmSize {
  const limit = res?.memory?.limit;
  let memoryMiB = DEFAULT_MEMORY_MIB;
  if (limit !== undefined && limit > 0) {
    memoryMiB = Math.floor(limit / MIB);
    if (memoryMiB < MIN_MEMORY_MIB) {
      throw new OptionError(`--memory: ${memoryMiB} MiB is below the guest minimum of ${MIN_MEMORY_MIB} MiB`);
    }
  }
  const quota = res?.cpu?.quota ?? 0;
  const period = res?.cpu?.period ?? 0;
  const cpus = quota > 0 && period > 0 ? Math.ceil(quota / period) : 1;
  const cpuset = res?.cpu?.cpus;
  if (!cpuset) return { cpus, memoryMiB };
  try {
    return { cpus, memoryMiB, hostCpus: parseCpuList(cpuset) };
  } catch (e) {
    throw new OptionError('--cpuset-cpus', { cause: e });
  }
}

/**
 * The one VMM overhead rule, for create and update alike: a memory value (limit or swap, in
 * bytes) that sets a limit is raised by VMM_OVERHEAD_MIB; runc reads 0 as "unchanged" and -1 as
 * "unlimited", and those stay as they are.
 */
export function plusVmmOverhead(bytes: number | undefined): number | undefined {
  return bytes !== undefined && bytes > 0 ? bytes + VMM_OVERHEAD_MIB * MIB : bytes;
}

/** Raises a set memory limit (and swap, which must stay >= limit) by the VMM overhead. */
export function withVmmOverhead(res: OciResources | undefined): OciResources | undefined {
  const mem = res?.memory;
  if (!res || !mem || mem.limit === undefined || mem.limit <= 0) return res;
  return { ...res, memory: { ...mem, limit: plusVmmOverhead(mem.limit), swap: plusVmmOverhead(mem.swap) } };
}
