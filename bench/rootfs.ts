/**
 * Image rootfs mode vs virtiofs: cold start (cache miss) vs warm start, start time against image
 * size (2 MiB, 200 MiB, 1 GiB), and the host memory of one idle container (PSS of every process
 * in its cgroup, with and without the guest's RAM). Ratios matter here, not absolute numbers.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, median } from './common.ts';

const N = Number(process.env.BENCH_N ?? 7);
const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
const BUSYBOX = 'runcvm-test/busybox';
const IMAGE_MODE = ['-e', 'RUNCVM_ROOTFS=image'];

/** busybox plus an incompressible blob, so the image really is that big. */
function sizedImage(mib: number): string {
  const name = `runcvm-bench/size-${mib}m`;
  const dir = mkdtempSync('/tmp/runcvm-bench-img-');
  try {
    writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN head -c ${mib}m /dev/urandom > /blob\n`);
    docker(['build', '-q', '-t', name, dir], 1_800_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return name;
}

function runMs(env: string[], image: string): number {
  const t0 = Date.now();
  docker(['run', '--rm', '--runtime=runcvm', ...env, image, 'true']);
  return Date.now() - t0;
}

function prune(): void {
  const r = spawnSync(`${PREFIX}/bin/runcvm`, ['cache', 'prune', '--max', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runcvm cache prune failed: ${r.stderr}`);
}

/** kB of PSS per process, and of QEMU's guest-RAM mapping (memfd "mem"), in one cgroup. */
function containerPss(name: string): { totalKb: number; guestRamKb: number; procs: string[] } {
  const pid = docker(['inspect', '-f', '{{.State.Pid}}', name]).trim();
  const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  let totalKb = 0;
  let guestRamKb = 0;
  const procs: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8') !== cgroup) continue;
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      totalKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      procs.push(readFileSync(`/proc/${p}/comm`, 'utf8').trim());
      const smaps = readFileSync(`/proc/${p}/smaps`, 'utf8');
      for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
        if (/memfd:mem/.test(block.split('\n')[0] ?? '')) guestRamKb += Number(/^Pss:\s+(\d+)/m.exec(block)?.[1] ?? 0);
      }
    } catch {
      // exited while we looked
    }
  }
  return { totalKb, guestRamKb, procs };
}

function idleMemory(env: string[], label: string): void {
  const name = `runcvm-bench-mem-${process.pid}-${label}`;
  try {
    docker(['run', '-d', '--name', name, '--runtime=runcvm', ...env, BUSYBOX, 'sleep', '3600']);
    docker(['exec', name, 'true']); // booted and idle
    spawnSync('sleep', ['3']);
    const m = containerPss(name);
    const mib = (kb: number) => (kb / 1024).toFixed(1);
    console.log(
      `  ${label.padEnd(9)} PSS all processes ${mib(m.totalKb).padStart(6)} MiB   guest RAM ${mib(m.guestRamKb).padStart(6)} MiB   overhead ${mib(m.totalKb - m.guestRamKb).padStart(6)} MiB   (${[...new Set(m.procs)].join(', ')})`,
    );
  } finally {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

export function rootfsBench(): void {
  const sizes = [2, 200, 1024];
  const images: Record<number, string> = { 2: BUSYBOX };
  for (const s of sizes.slice(1)) images[s] = sizedImage(s);
  const cold: Record<number, number[]> = {};
  const warm: Record<number, number[]> = {};
  const virtiofs: Record<number, number[]> = {};
  for (let i = 0; i < Math.max(3, Math.ceil(N / 2)); i++) {
    for (const s of [2, 1024]) {
      prune();
      (cold[s] ??= []).push(runMs(IMAGE_MODE, images[s] as string));
    }
  }
  for (let i = 0; i < N; i++) {
    for (const s of sizes) {
      (warm[s] ??= []).push(runMs(IMAGE_MODE, images[s] as string));
      (virtiofs[s] ??= []).push(runMs([], images[s] as string));
    }
    process.stderr.write(`rootfs round ${i + 1}/${N}\n`);
  }
  const w2 = median(warm[2] as number[]);
  const v2 = median(virtiofs[2] as number[]);
  console.log(`rootfs modes: docker run --rm IMAGE true, ${N} interleaved rounds`);
  for (const s of [2, 1024]) {
    const c = median(cold[s] as number[]);
    console.log(
      `  ${String(s).padStart(4)} MiB image   image mode cold (cache miss, mkfs of the image) ${c} ms   cold/warm ${(c / median(warm[s] as number[])).toFixed(2)}x`,
    );
  }
  for (const s of sizes) {
    const w = median(warm[s] as number[]);
    const v = median(virtiofs[s] as number[]);
    console.log(
      `  ${String(s).padStart(4)} MiB image   image mode warm ${w} ms (${(w / w2).toFixed(2)}x of 2 MiB)   virtiofs ${v} ms (${(v / v2).toFixed(2)}x of 2 MiB)   image/virtiofs ${(w / v).toFixed(2)}x`,
    );
  }
  console.log('idle container host memory (one container, 512 MiB guest)');
  idleMemory([], 'virtiofs');
  idleMemory(IMAGE_MODE, 'image');
}
