/**
 * Host memory of one idle container by process, for the data-plane split (docs/performance.md):
 * PSS of every host process in the container's cgroup, guest RAM (QEMU's memfd "mem" mapping,
 * what the guest touched) counted apart, and QEMU's own part split into the TCG translation cache,
 * other anonymous memory and file pages. Runs each data plane of the runtime under test
 * (BENCH_DATA_PLANES, default node,supervisor: RUNCVM_DATA_PLANE per container) and, when
 * BENCH_BASELINE_RUNTIME names another install, that one too, in interleaved rounds, and prints
 * medians side by side.
 *   node --import tsx bench/idle-memory.ts      (or as a part of npm run bench: BENCH_IDLE_MEMORY=0 skips it)
 */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { docker, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 3);
const IMAGE = process.env.BENCH_IMAGE ?? 'runcvm-test/busybox';
const RUNCVM = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const BASELINE = process.env.BENCH_BASELINE_RUNTIME;
const DATA_PLANES = (process.env.BENCH_DATA_PLANES ?? 'node,supervisor').split(',').filter(Boolean);

type Part =
  | 'data plane'
  | 'data plane RSS'
  | 'qemu own'
  | 'qemu tcg cache'
  | 'qemu anon'
  | 'qemu file'
  | 'virtiofsd'
  | 'guest RAM';
const PARTS: Part[] = [
  'data plane',
  'data plane RSS',
  'qemu own',
  'qemu tcg cache',
  'qemu anon',
  'qemu file',
  'virtiofsd',
  'guest RAM',
];
/** The TCG translation cache is one anonymous mapping of tb-size (32 MiB, vmm/qemu/argv.ts);
 * nothing else QEMU maps anonymously comes near this size (guest RAM is the memfd). */
const TB_MAPPING_MIN_KB = 16 * 1024;

/** A container to measure: an install, and the data plane it is asked for (none: its default). */
interface Variant {
  label: string;
  runtime: string;
  dataPlane?: string;
}

function pss(text: string): number {
  return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
}

/** kB of PSS by part, and the names of the processes counted, for one container. */
function measure(name: string): { kb: Record<Part, number>; procs: string[] } {
  const pid = docker(['inspect', '-f', '{{.State.Pid}}', name]).trim();
  const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const kb = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>;
  const procs: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8') !== cgroup) continue;
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const total = pss(rollup);
      let guest = 0;
      const qemu = { tb: 0, anon: 0, file: 0 };
      for (const block of readFileSync(`/proc/${p}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
        const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/m.exec(block);
        const path = head?.[3] ?? '';
        if (/memfd:mem/.test(path)) guest += pss(block);
        else if (path.startsWith('/')) qemu.file += pss(block);
        else if (
          head &&
          (Number.parseInt(head[2] as string, 16) - Number.parseInt(head[1] as string, 16)) / 1024 >= TB_MAPPING_MIN_KB
        )
          qemu.tb += pss(block);
        else qemu.anon += pss(block);
      }
      procs.push(comm);
      kb['guest RAM'] += guest;
      if (comm.startsWith('qemu')) {
        kb['qemu own'] += total - guest;
        kb['qemu tcg cache'] += qemu.tb;
        kb['qemu anon'] += qemu.anon;
        kb['qemu file'] += qemu.file;
      } else if (comm === 'virtiofsd') kb.virtiofsd += total;
      else {
        // runcvm-init, the launcher (node) or runcvm-supervisor. PSS splits pages shared with
        // other processes (Node's binary with every other node on the host): RSS says what one
        // container would cost alone.
        kb['data plane'] += total;
        kb['data plane RSS'] += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      }
    } catch {
      // exited while we looked
    }
  }
  return { kb, procs };
}

function once(v: Variant, round: number): ReturnType<typeof measure> {
  const name = `runcvm-bench-idle-${process.pid}-${round}-${v.runtime}-${v.dataPlane ?? 'default'}`;
  const plane = v.dataPlane ? ['-e', `RUNCVM_DATA_PLANE=${v.dataPlane}`] : [];
  try {
    docker(['run', '-d', '--name', name, `--runtime=${v.runtime}`, ...plane, IMAGE, 'sleep', '3600']);
    docker(['exec', name, 'true']); // booted
    spawnSync('sleep', ['5']); // and idle
    return measure(name);
  } finally {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

export function idleMemoryBench(): void {
  const variants: Variant[] = [
    ...(BASELINE && BASELINE !== RUNCVM ? [{ label: BASELINE, runtime: BASELINE }] : []),
    ...DATA_PLANES.map((dp) => ({ label: `${RUNCVM} ${dp}`, runtime: RUNCVM, dataPlane: dp })),
  ];
  const samples: Record<string, Record<Part, number[]>> = {};
  const names: Record<string, Set<string>> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const v of variants) {
      const m = once(v, i);
      samples[v.label] ??= Object.fromEntries(PARTS.map((p) => [p, [] as number[]])) as Record<Part, number[]>;
      for (const p of PARTS) samples[v.label]?.[p].push(m.kb[p]);
      names[v.label] = new Set([...(names[v.label] ?? []), ...m.procs]);
    }
    process.stderr.write(`idle memory round ${i + 1}/${ROUNDS}\n`);
  }
  const mib = (kb: number) => (kb / 1024).toFixed(1).padStart(6);
  console.log(`idle container host memory by process (PSS, ${IMAGE} sleep, ${ROUNDS} interleaved rounds, medians)`);
  const host: Record<string, number> = {};
  for (const v of variants) {
    const s = samples[v.label] as Record<Part, number[]>;
    const m = Object.fromEntries(PARTS.map((p) => [p, median(s[p])])) as Record<Part, number>;
    host[v.label] = m['data plane'] + m['qemu own'] + m.virtiofsd;
    console.log(
      `  ${v.label.padEnd(28)} data plane ${mib(m['data plane'])} MiB (RSS ${mib(m['data plane RSS'])})   QEMU own ${mib(m['qemu own'])} MiB (TCG cache ${mib(m['qemu tcg cache'])}, other anon ${mib(m['qemu anon'])}, files ${mib(m['qemu file'])})   virtiofsd ${mib(m.virtiofsd)} MiB   host total ${mib(host[v.label] as number)} MiB   (guest RAM ${mib(m['guest RAM'])} MiB; ${[...(names[v.label] ?? [])].sort().join(', ')})`,
    );
  }
  const first = variants[0] as Variant;
  for (const v of variants.slice(1))
    console.log(
      `  host total (excluding guest RAM) ${v.label} / ${first.label}: ${((host[v.label] as number) / (host[first.label] as number)).toFixed(2)}x`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) idleMemoryBench();
