/**
 * `docker update` on a runcvm container, decided without side effects: what runc must set on
 * the container's cgroup (memory raised by the VMM overhead, as at create) and what the running
 * VM must do (guest memory target for the balloon, vCPU re-pinning). What a running VM cannot
 * do is refused here, naming the Docker option.
 */

import { parseSize } from '../common/size.ts';
import { OptionError } from '../contracts/errors.ts';
import type { OciResources } from '../oci/spec.ts';
import { parseCpuList } from '../vmm/cpu-pinning.ts';
import { MIN_MEMORY_MIB, plusVmmOverhead } from './vm-size.ts';

const MIB = 1024 * 1024;
/** runc's and the kernel's default CFS period, when only a quota is given. */
const DEFAULT_CPU_PERIOD = 100_000;

export interface BootSize {
  cpus: number;
  memoryMiB: number;
}

export interface UpdatePlan {
  /** The request with the memory values (limit, swap) raised by the VMM overhead. */
  resources: OciResources;
  /** Guest memory to reach through the balloon; absent: memory unchanged. */
  memoryTargetMiB?: number;
  /** New --cpuset-cpus: vCPU threads to re-pin (the cgroup change resets their affinity). */
  hostCpus?: number[];
}

function memoryTarget(limit: number | undefined, boot: BootSize): number | undefined {
  if (limit === undefined || limit === 0) return undefined;
  // Unlimited: the guest may use everything it booted with.
  if (limit < 0) return boot.memoryMiB;
  const mib = Math.floor(limit / MIB);
  if (mib > boot.memoryMiB) {
    throw new OptionError(
      `--memory: ${mib} MiB is more than the ${boot.memoryMiB} MiB the VM booted with; a running VM can shrink and grow back up to its boot size, not beyond (recreate the container with -m ${mib}m)`,
    );
  }
  if (mib < MIN_MEMORY_MIB)
    throw new OptionError(`--memory: ${mib} MiB is below the guest minimum of ${MIN_MEMORY_MIB} MiB`);
  return mib;
}

function checkCpus(quota: number | undefined, period: number | undefined, boot: BootSize): void {
  if (quota === undefined || quota <= 0) return;
  const p = period !== undefined && period > 0 ? period : DEFAULT_CPU_PERIOD;
  const vcpus = Math.ceil(quota / p);
  if (vcpus > boot.cpus) {
    throw new OptionError(
      `--cpus: ${+(quota / p).toFixed(2)} needs ${vcpus} vCPUs but the VM booted with ${boot.cpus}; a running VM cannot gain vCPUs (lower values work; recreate the container for more)`,
    );
  }
}

export function planUpdate(req: OciResources, boot: BootSize): UpdatePlan {
  const mem = req.memory;
  const memoryTargetMiB = memoryTarget(mem?.limit, boot);
  checkCpus(req.cpu?.quota, req.cpu?.period, boot);
  let hostCpus: number[] | undefined;
  if (req.cpu?.cpus) {
    try {
      hostCpus = parseCpuList(req.cpu.cpus);
    } catch (e) {
      throw new OptionError('--cpuset-cpus', { cause: e });
    }
  }
  const resources = mem
    ? { ...req, memory: { ...mem, limit: plusVmmOverhead(mem.limit), swap: plusVmmOverhead(mem.swap) } }
    : req;
  return {
    resources,
    ...(memoryTargetMiB !== undefined ? { memoryTargetMiB } : {}),
    ...(hostCpus ? { hostCpus } : {}),
  };
}

/** runc's memory flag values (go-units RAMInBytes: binary suffixes, "-1" = unlimited). */
export function parseRam(value: string, flag: string): number {
  if (value.trim() === '-1') return -1;
  const bytes = parseSize(value);
  if (bytes === undefined) throw new OptionError(`${flag}: invalid size "${value}" (e.g. 512m, 1g, bytes)`);
  return bytes;
}
