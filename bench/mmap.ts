/**
 * Cost of the guest's short writeback timing (docs/storage.md, "Shared mappings"): `mmapw -b`
 * rewrites every page of a shared mapping (256 KiB: under FUSE's own dirty limit; BENCH_MMAP_KIB) on a named volume (virtiofs) for a fixed time,
 * once with runcvm's timing (expire 0.5 s, writeback 0.25 s) and once with the kernel's defaults
 * (30 s, 5 s) restored inside a --privileged guest first, interleaved, plus runc. `write(2)` paths
 * are unaffected (virtiofs writes through), so this is the case the change can slow down.
 * Run alone: `node --import tsx bench/mmap.ts`; part of `npm run bench` unless BENCH_MMAP=0.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, median } from './common.ts';

const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const N = Number(process.env.BENCH_MMAP_N ?? 3);
const KIB = Number(process.env.BENCH_MMAP_KIB ?? 256);
const SECONDS = 10;
const IMAGE = `runcvm-bench/mmapw:${process.pid}`;

function rate(out: string): number {
  const m = /([0-9.]+) MiB\/s dirtied/.exec(out);
  if (!m) throw new Error(`mmapw printed no rate: ${out}`);
  return Number(m[1]);
}

export async function mmapBench(): Promise<void> {
  const ctx = mkdtempSync('/tmp/runcvm-bench-mmap-');
  const vol = `runcvm-bench-mmap-${process.pid}`;
  try {
    execFileSync('musl-gcc', [
      '-static',
      '-O2',
      '-o',
      join(ctx, 'mmapw'),
      new URL('../test/images/sysctl/mmapw.c', import.meta.url).pathname,
    ]);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM runcvm-test/busybox\nCOPY mmapw /bin/\n');
    docker(['build', '-q', '-t', IMAGE, ctx]);
    docker(['volume', 'create', vol]);
    const bench = `mmapw -b /data/bench ${KIB} ${SECONDS}`;
    const kinds: Record<string, string[]> = {
      runc: ['--runtime=runc', '-v', `${vol}:/data`, IMAGE, 'sh', '-c', bench],
      'runcvm (0.5 s / 0.25 s)': [
        `--runtime=${RUNTIME}`,
        '--privileged',
        '-v',
        `${vol}:/data`,
        IMAGE,
        'sh',
        '-c',
        bench,
      ],
      'runcvm, kernel defaults (30 s / 5 s)': [
        `--runtime=${RUNTIME}`,
        '--privileged',
        '-v',
        `${vol}:/data`,
        IMAGE,
        'sh',
        '-c',
        `echo 3000 > /proc/sys/vm/dirty_expire_centisecs && echo 500 > /proc/sys/vm/dirty_writeback_centisecs && ${bench}`,
      ],
    };
    const rates: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    for (let i = 0; i < N; i++) {
      for (const [k, args] of Object.entries(kinds)) rates[k]?.push(rate(docker(['run', '--rm', ...args])));
    }
    console.log(
      `\nshared mapping on a volume: ${KIB} KiB rewritten page by page for ${SECONDS} s, MiB/s dirtied (median of ${N})`,
    );
    const base = median(rates['runcvm, kernel defaults (30 s / 5 s)'] ?? []);
    for (const [k, xs] of Object.entries(rates)) {
      console.log(
        `  ${k.padEnd(40)} ${median(xs).toFixed(0).padStart(10)}  (${xs.map((x) => x.toFixed(0)).join(', ')})${k.startsWith('runcvm') ? `  ${(median(xs) / base).toFixed(2)}x of defaults` : ''}`,
      );
    }
  } finally {
    spawnOk(['volume', 'rm', '-f', vol]);
    spawnOk(['rmi', '-f', IMAGE]);
    rmSync(ctx, { recursive: true, force: true });
  }
}

function spawnOk(args: string[]): void {
  try {
    docker(args);
  } catch {
    // Cleanup of our own volume and image: nothing else to do if it is already gone.
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await mmapBench();
