/**
 * Storage part of `npm run bench` (skip with BENCH_STORAGE=0): sequential write (dd with
 * fdatasync) and read, and small-file create/stat/unlink rates, on the guest's rootfs
 * (virtiofs), a named volume (virtiofs submount) and a tmpfs (guest RAM), runcvm vs runc.
 * Times are taken inside the container (GNU date), so docker exec's own latency is excluded.
 * Prints medians and runcvm/runc ratios (> 1 = runcvm slower).
 */
import { spawnSync } from 'node:child_process';

const ROUNDS = Number(process.env.BENCH_STORAGE_N ?? 3);
// One `rm` for all files (a fork per file would measure process start-up under TCG instead).
const MIB = Number(process.env.BENCH_STORAGE_MB ?? 64);
const FILES = Number(process.env.BENCH_STORAGE_FILES ?? 500);
const IMAGE = process.env.BENCH_STORAGE_IMAGE ?? 'runcvm-test/debian';
const PLACES = { rootfs: '/bench', volume: '/vol', tmpfs: '/tmpfs' } as const;

// Prints "<metric> <microseconds>" lines for one directory.
const SCRIPT = `
set -e; d=$1; mkdir -p "$d"; cd "$d"
t() { date +%s%N; }
s=$(t); dd if=/dev/zero of=big bs=1M count=${MIB} conv=fdatasync 2>/dev/null; e=$(t); echo "write $(( (e - s) / 1000 ))"
s=$(t); dd if=big of=/dev/null bs=1M 2>/dev/null; e=$(t); echo "read $(( (e - s) / 1000 ))"
rm -f big; mkdir -p small; cd small
s=$(t); for i in $(seq ${FILES}); do : > f$i; done; e=$(t); echo "create $(( (e - s) / 1000 ))"
s=$(t); for i in $(seq ${FILES}); do [ -e f$i ]; done; e=$(t); echo "stat $(( (e - s) / 1000 ))"
s=$(t); rm -f f*; e=$(t); echo "unlink $(( (e - s) / 1000 ))"
`;

type Samples = Record<string, number[]>;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function measure(ctr: string, dir: string, into: Samples, place: string): void {
  const out = docker(['exec', ctr, 'bash', '-c', SCRIPT, 'bench', dir]);
  for (const line of out.trim().split('\n')) {
    const [metric, us] = line.split(' ');
    (into[`${place} ${metric}`] ??= []).push(Number(us));
  }
}

/** A rate for display: MiB/s for dd, operations/s for the small-file loops. */
function rate(key: string, us: number): string {
  const secs = us / 1e6;
  return /write|read/.test(key) ? `${(MIB / secs).toFixed(1)} MiB/s` : `${Math.round(FILES / secs)} ops/s`;
}

export function storageBench(): void {
  const pid = process.pid;
  const names = { runc: `runcvm-bench-st-runc-${pid}`, runcvm: `runcvm-bench-st-vm-${pid}` };
  const vols = { runc: `runcvm-bench-st-runc-${pid}`, runcvm: `runcvm-bench-st-vm-${pid}` };
  const samples: Record<string, Samples> = { runc: {}, runcvm: {} };
  try {
    for (const rt of ['runc', 'runcvm'] as const) {
      docker([
        'run',
        '-d',
        '--name',
        names[rt],
        `--runtime=${rt}`,
        '-v',
        `${vols[rt]}:/vol`,
        '--tmpfs',
        `/tmpfs:size=${MIB * 2 + 64}m`,
        IMAGE,
        'sleep',
        '3600',
      ]);
    }
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = Date.now();
      for (const rt of ['runc', 'runcvm'] as const) {
        for (const [place, dir] of Object.entries(PLACES)) measure(names[rt], dir, samples[rt] as Samples, place);
      }
      process.stderr.write(`storage round ${i + 1}/${ROUNDS}: ${Date.now() - t0} ms\n`);
    }
  } finally {
    spawnSync('docker', ['rm', '-f', names.runc, names.runcvm], { stdio: 'ignore' });
    spawnSync('docker', ['volume', 'rm', '-f', vols.runc, vols.runcvm], { stdio: 'ignore' });
  }
  console.log(
    `storage (${IMAGE}, ${ROUNDS} rounds, medians; ${MIB} MiB dd, ${FILES} small files; ratio = runcvm time / runc time)`,
  );
  for (const key of Object.keys(samples.runc as Samples)) {
    const a = median((samples.runc as Samples)[key] ?? []);
    const b = median((samples.runcvm as Samples)[key] ?? []);
    console.log(
      `  ${key.padEnd(16)} runc ${rate(key, a).padStart(14)}   runcvm ${rate(key, b).padStart(14)}   ratio ${(b / a).toFixed(2)}x`,
    );
  }
}
