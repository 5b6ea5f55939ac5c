/**
 * Resources part of `npm run bench` (skip with BENCH_RESOURCES=0): host memory of one idle
 * runcvm container (-m 512m) right after boot, while its guest holds 300 MiB (a tmpfs file),
 * and once the guest freed it and free-page reporting gave the pages back to the host; plus
 * how long that took. QEMU's RSS is split into guest RAM (RssShmem: the memfd) and QEMU's own
 * (RssAnon: heap, TCG code cache); "container" is what docker stats shows for the whole cgroup
 * (QEMU, virtiofsd, launcher). An idle runc container of the same image is the baseline.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KERNELS } from '../src/contracts/kinds.ts';
import { docker, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_RESOURCES_N ?? 3);
const IMAGE = process.env.BENCH_RESOURCES_IMAGE ?? 'runcvm-test/debian';
const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const FILL_MIB = 300;
/** Boot leaves freed pages behind too; let reporting (2 s delay in the guest) settle first. */
const SETTLE_MS = 10_000;

interface Sample {
  guestMiB: number;
  qemuMiB: number;
  containerMiB: number;
}

function qemuPid(name: string): number {
  const line = docker(['top', name, '-eo', 'pid,comm'])
    .split('\n')
    .find((l) => /\bqemu-system-x86/.test(l));
  if (!line) throw new Error(`no QEMU process in ${name}`);
  return Number(line.trim().split(/\s+/)[0]);
}

function statusKiB(pid: number, field: string): number {
  return Number(
    new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0,
  );
}

/** docker stats' "12.3MiB / 768MiB" → 12.3 */
function containerMiB(name: string): number {
  const used = docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]).split('/')[0]?.trim() ?? '';
  const m = /^([\d.]+)([KMG]i?B)$/.exec(used);
  if (!m) throw new Error(`docker stats: unexpected memory usage "${used}"`);
  const unit = { KiB: 1 / 1024, MiB: 1, GiB: 1024, kB: 1 / 1024, MB: 1, GB: 1024 }[m[2] as string] ?? Number.NaN;
  return Number(m[1]) * unit;
}

function sample(name: string, pid: number): Sample {
  return {
    guestMiB: Math.round(statusKiB(pid, 'RssShmem') / 1024),
    qemuMiB: Math.round(statusKiB(pid, 'RssAnon') / 1024),
    containerMiB: Math.round(containerMiB(name)),
  };
}

interface Round {
  idle: Sample;
  held: Sample;
  freed: Sample;
  reclaimMs: number;
}

async function oneRound(round: number): Promise<Round> {
  const name = `runcvm-bench-res-${process.pid}-${round}`;
  try {
    docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-m',
      '512m',
      '--tmpfs',
      `/big:size=${FILL_MIB + 64}m`,
      IMAGE,
      'sleep',
      'infinity',
    ]);
    docker(['exec', name, 'true']);
    await sleep(SETTLE_MS);
    const pid = qemuPid(name);
    const idle = sample(name, pid);
    docker(['exec', name, 'dd', 'if=/dev/zero', 'of=/big/fill', 'bs=1M', `count=${FILL_MIB}`]);
    const held = sample(name, pid);
    const t0 = Date.now();
    docker(['exec', name, 'rm', '/big/fill']);
    while (statusKiB(pid, 'RssShmem') / 1024 > held.guestMiB - FILL_MIB / 2 && Date.now() - t0 < 120_000)
      await sleep(200);
    const reclaimMs = Date.now() - t0;
    await sleep(SETTLE_MS);
    return { idle, held, freed: sample(name, pid), reclaimMs };
  } finally {
    docker(['rm', '-f', name]);
  }
}

/** Guest RAM an idle busybox VM (-m 512m) has touched, per guest kernel, one container each. */
async function idleByKernel(): Promise<void> {
  const out: string[] = [];
  for (const kernel of KERNELS) {
    const name = `runcvm-bench-idle-${kernel}-${process.pid}`;
    try {
      docker([
        'run',
        '-d',
        '--name',
        name,
        `--runtime=${RUNTIME}`,
        '-m',
        '512m',
        '-e',
        `RUNCVM_KERNEL=${kernel}`,
        'runcvm-test/busybox',
        'sleep',
        'infinity',
      ]);
      docker(['exec', name, 'true']);
      await sleep(SETTLE_MS);
      const s = sample(name, qemuPid(name));
      out.push(
        `  ${kernel.padEnd(6)} kernel: guest RAM ${String(s.guestMiB).padStart(4)} MiB   QEMU own ${String(s.qemuMiB).padStart(4)} MiB   container ${String(s.containerMiB).padStart(4)} MiB`,
      );
    } finally {
      docker(['rm', '-f', name]);
    }
  }
  console.log('idle busybox (sleep), -m 512m, by guest kernel:');
  for (const l of out) console.log(l);
}

export async function resourcesBench(): Promise<void> {
  await idleByKernel();
  if (process.env.BENCH_RESOURCES_IDLE_ONLY === '1') return;
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(await oneRound(i));
    process.stderr.write(`resources round ${i + 1}/${ROUNDS}: ${JSON.stringify(rounds.at(-1))}\n`);
  }
  const runcName = `runcvm-bench-res-runc-${process.pid}`;
  let runcMiB: number;
  try {
    docker(['run', '-d', '--name', runcName, '--runtime=runc', IMAGE, 'sleep', 'infinity']);
    runcMiB = containerMiB(runcName);
  } finally {
    docker(['rm', '-f', runcName]);
  }
  const row = (label: string, pick: (r: Round) => Sample) => {
    const m = (f: (s: Sample) => number) => median(rounds.map((r) => f(pick(r))));
    console.log(
      `  ${label.padEnd(40)} guest RAM ${String(m((s) => s.guestMiB)).padStart(4)} MiB   QEMU own ${String(m((s) => s.qemuMiB)).padStart(4)} MiB   container ${String(m((s) => s.containerMiB)).padStart(4)} MiB`,
    );
  };
  console.log(`host memory of one idle runcvm container (-m 512m, ${IMAGE}), ${ROUNDS} rounds, medians`);
  row('idle after boot', (r) => r.idle);
  row(`guest holds ${FILL_MIB} MiB (tmpfs file)`, (r) => r.held);
  row('guest freed it, pages reported back', (r) => r.freed);
  console.log(
    `  from \`docker exec rm\` to half the file's pages back on the host: ${median(rounds.map((r) => r.reclaimMs))} ms`,
  );
  console.log(`  idle runc container of the same image: ${runcMiB.toFixed(1)} MiB`);
}
