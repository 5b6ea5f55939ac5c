/**
 * --cpuset-cpus: each vCPU thread gets its own host CPU from the allowed set, round-robin, so
 * two vCPUs do not share a host CPU while another allowed one idles. The cgroup's cpuset
 * already keeps every VMM thread inside the set; this narrows the vCPU threads further.
 */
import { execFileSync } from 'node:child_process';

/** Host CPU for each vCPU (index = vCPU number). */
export function vcpuPlacement(vcpus: number, hostCpus: readonly number[]): number[] {
  if (hostCpus.length === 0) return [];
  return Array.from({ length: vcpus }, (_, i) => hostCpus[i % hostCpus.length] as number);
}

/**
 * Node has no sched_setaffinity: util-linux's taskset makes the call (host /usr is the
 * launcher's /usr). `prefix` runs it elsewhere, e.g. in another PID namespace with nsenter.
 */
export function pinThreads(tids: readonly number[], hostCpus: readonly number[], prefix: readonly string[] = []): void {
  const placement = vcpuPlacement(tids.length, hostCpus);
  for (const [i, tid] of tids.entries()) {
    const argv = [...prefix, 'taskset', '-p', '-c', String(placement[i]), String(tid)];
    try {
      execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
      throw new Error(
        `pinning vCPU ${i} (thread ${tid}) to host CPU ${placement[i]}: ${stderr || (e as Error).message}`,
      );
    }
  }
}

/** "0-2,5" (the kernel's and Docker's cpuset list format) → [0, 1, 2, 5]. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: "${list}" (expected e.g. 0-2,5)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`not a CPU list: "${list}" (range ${part} runs backwards)`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}
