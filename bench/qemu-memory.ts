/**
 * QEMU's own host memory part of `npm run bench` (BENCH_QEMU_MEMORY=0 skips it): what the QEMU
 * process costs besides guest RAM, and how the TCG translation-cache size (`-accel
 * tcg,tb-size=N`) trades that memory against boot time. Boots the bare VM of run.ts (same kernel,
 * agent only, no container) once per setting and round, interleaved so every setting shares the
 * host's load:
 * - boot: QEMU start until the agent powers the VM off (runcvm.poweroff=1);
 * - own PSS: the same VM left running (the agent waits for a host that never comes), sampled
 *   after SETTLE_MS: the PSS of every mapping of the QEMU process except the guest-RAM memfd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_KERNEL, KERNELS, type KernelName } from '../src/contracts/kinds.ts';
import { QEMU_BINARY } from '../src/vmm/qemu/driver.ts';
import { bareVmArgv } from './bare-vm.ts';
import { median } from './common.ts';

const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
const ROUNDS = Number(process.env.BENCH_QEMU_MEMORY_N ?? 3);
const TB_SIZES = (process.env.BENCH_TB_SIZES ?? '16,24,32,64').split(',').map(Number);
const KERNEL = (process.env.BENCH_QEMU_MEMORY_KERNEL ?? DEFAULT_KERNEL) as KernelName;
if (!KERNELS.includes(KERNEL))
  throw new Error(`BENCH_QEMU_MEMORY_KERNEL: ${KERNEL} (expected ${KERNELS.join(' or ')})`);
const SETTLE_MS = Number(process.env.BENCH_QEMU_MEMORY_SETTLE_MS ?? 15_000);

/** The bare VM's argv with the translation cache set to `tbMiB` (0: QEMU's default). */
function argvWith(tbMiB: number, poweroff: boolean, runDir: string): string[] {
  const argv = bareVmArgv({
    prefix: PREFIX,
    kernel: KERNEL,
    runDir,
    name: 'bench-mem',
    powerOff: poweroff,
    accel: 'tcg',
  });
  const at = argv.findIndex((a) => a.startsWith('tcg'));
  if (at < 0) throw new Error('qemu argv has no tcg accelerator');
  argv[at] = tbMiB > 0 ? `tcg,tb-size=${tbMiB}` : 'tcg';
  return argv;
}

/** Seconds in bash's `times` format ("1m2.345s"). */
const seconds = (t: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected time ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/**
 * One boot to power-off: wall time, and QEMU's CPU time (user + system, from bash's `times`),
 * which is what translation costs and moves far less than wall time with the host's load.
 */
function boot(tbMiB: number): { wallMs: number; cpuMs: number } {
  const runDir = mkdtempSync(join(tmpdir(), 'runcvm-bench-mem-'));
  try {
    const t0 = Date.now();
    const r = spawnSync(
      'bash',
      ['-c', '"$@" >/dev/null 2>&1; s=$?; times; exit $s', 'bash', QEMU_BINARY, ...argvWith(tbMiB, true, runDir)],
      { encoding: 'utf8', timeout: 180_000 },
    );
    const wallMs = Date.now() - t0;
    if (r.status !== 0) throw new Error(`bare VM (tb-size ${tbMiB}) failed: ${r.status ?? r.signal}`);
    const children = (r.stdout.trim().split('\n')[1] ?? '').split(/\s+/);
    return { wallMs, cpuMs: Math.round(1000 * (seconds(children[0] ?? '') + seconds(children[1] ?? ''))) };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** PSS in KiB of every mapping of `pid` but guest RAM (the memory-backend-memfd, "/memfd:mem"). */
export function ownPssKiB(pid: number): number {
  let total = 0;
  let guestRam = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) guestRam = line.includes('/memfd:mem');
    else if (line.startsWith('Pss:') && !guestRam) total += Number(line.split(/\s+/)[1]);
  }
  return total;
}

async function idlePssMiB(tbMiB: number): Promise<number> {
  const runDir = mkdtempSync(join(tmpdir(), 'runcvm-bench-mem-'));
  const child = spawn(QEMU_BINARY, argvWith(tbMiB, false, runDir), { stdio: 'ignore' });
  try {
    await sleep(SETTLE_MS);
    if (child.pid === undefined || child.exitCode !== null) throw new Error(`bare VM (tb-size ${tbMiB}) exited early`);
    return Math.round(ownPssKiB(child.pid) / 1024);
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(runDir, { recursive: true, force: true });
  }
}

export async function qemuMemoryBench(): Promise<void> {
  const wall: Record<number, number[]> = {};
  const cpu: Record<number, number[]> = {};
  const pss: Record<number, number[]> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const tb of TB_SIZES) {
      const b = boot(tb);
      (wall[tb] ??= []).push(b.wallMs);
      (cpu[tb] ??= []).push(b.cpuMs);
      (pss[tb] ??= []).push(await idlePssMiB(tb));
      process.stderr.write(
        `qemu memory round ${i + 1}/${ROUNDS}, tb-size ${tb || 'default'}: boot ${b.wallMs} ms (CPU ${b.cpuMs} ms), own PSS ${pss[tb]!.at(-1)} MiB\n`,
      );
    }
  }
  const base = TB_SIZES.includes(64) ? 64 : (TB_SIZES[0] as number);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `QEMU under TCG, bare VM (${KERNEL} kernel, 512 MiB), ${ROUNDS} interleaved rounds, medians (load ${load})`,
  );
  for (const tb of TB_SIZES) {
    const ratio = (xs: Record<number, number[]>) => (median(xs[tb]!) / median(xs[base]!)).toFixed(2);
    console.log(
      `  tb-size ${String(tb || 'default').padStart(7)} MiB   boot ${String(median(wall[tb]!)).padStart(6)} ms (${ratio(wall)}x)   QEMU CPU ${String(median(cpu[tb]!)).padStart(6)} ms (${ratio(cpu)}x)   own PSS after ${SETTLE_MS / 1000} s ${String(median(pss[tb]!)).padStart(4)} MiB`,
    );
  }
  console.log(`  (ratios against tb-size ${base || 'default'})`);
}

if (import.meta.url === `file://${process.argv[1]}`) await qemuMemoryBench();
