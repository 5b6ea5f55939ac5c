/**
 * Host memory of one idle container by process, for the data-plane split (docs/performance.md):
 * PSS of every host process in the container's cgroup, guest RAM (QEMU's memfd "mem" mapping,
 * what the guest touched) counted apart. Runs the runtime under test and, when
 * BENCH_BASELINE_RUNTIME names another install (the previous design: a resident Node launcher),
 * that one too, in interleaved rounds, and prints medians side by side.
 *   node --import tsx bench/idle-memory.ts      (or as a part of npm run bench: BENCH_IDLE_MEMORY=0 skips it)
 */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { docker, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_MEMORY_ROUNDS ?? 3);
const IMAGE = process.env.BENCH_IMAGE ?? 'runcvm-test/busybox';
const RUNCVM = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const BASELINE = process.env.BENCH_BASELINE_RUNTIME;

type Part = 'data plane' | 'data plane RSS' | 'qemu own' | 'virtiofsd' | 'guest RAM';
const PARTS: Part[] = ['data plane', 'data plane RSS', 'qemu own', 'virtiofsd', 'guest RAM'];

function pss(text: string): number {
  return Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
}

/** kB of PSS by part, and the names of the processes counted, for one container. */
function measure(name: string): { kb: Record<Part, number>; procs: string[] } {
  const pid = docker(['inspect', '-f', '{{.State.Pid}}', name]).trim();
  const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const kb: Record<Part, number> = {
    'data plane': 0,
    'data plane RSS': 0,
    'qemu own': 0,
    virtiofsd: 0,
    'guest RAM': 0,
  };
  const procs: string[] = [];
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8') !== cgroup) continue;
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const total = pss(rollup);
      let guest = 0;
      for (const block of readFileSync(`/proc/${p}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/))
        if (/memfd:mem/.test(block.split('\n')[0] ?? '')) guest += pss(block);
      procs.push(comm);
      kb['guest RAM'] += guest;
      if (comm.startsWith('qemu')) kb['qemu own'] += total - guest;
      else if (comm === 'virtiofsd') kb.virtiofsd += total;
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

function once(runtime: string, round: number): ReturnType<typeof measure> {
  const name = `runcvm-bench-idle-${process.pid}-${round}-${runtime}`;
  try {
    docker(['run', '-d', '--name', name, `--runtime=${runtime}`, IMAGE, 'sleep', '3600']);
    docker(['exec', name, 'true']); // booted
    spawnSync('sleep', ['5']); // and idle
    return measure(name);
  } finally {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

export function idleMemoryBench(): void {
  const runtimes = BASELINE && BASELINE !== RUNCVM ? [BASELINE, RUNCVM] : [RUNCVM];
  const samples: Record<string, Record<Part, number[]>> = {};
  const names: Record<string, Set<string>> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const rt of runtimes) {
      const m = once(rt, i);
      samples[rt] ??= { 'data plane': [], 'data plane RSS': [], 'qemu own': [], virtiofsd: [], 'guest RAM': [] };
      for (const p of PARTS) samples[rt][p].push(m.kb[p]);
      names[rt] = new Set([...(names[rt] ?? []), ...m.procs]);
    }
    process.stderr.write(`idle memory round ${i + 1}/${ROUNDS}\n`);
  }
  const mib = (kb: number) => (kb / 1024).toFixed(1).padStart(6);
  console.log(`idle container host memory by process (PSS, ${IMAGE} sleep, ${ROUNDS} interleaved rounds, medians)`);
  const host: Record<string, number> = {};
  for (const rt of runtimes) {
    const s = samples[rt] as Record<Part, number[]>;
    const m = Object.fromEntries(PARTS.map((p) => [p, median(s[p])])) as Record<Part, number>;
    host[rt] = m['data plane'] + m['qemu own'] + m.virtiofsd;
    console.log(
      `  ${rt.padEnd(20)} data plane ${mib(m['data plane'])} MiB (RSS ${mib(m['data plane RSS'])})   QEMU own ${mib(m['qemu own'])} MiB   virtiofsd ${mib(m.virtiofsd)} MiB   host total ${mib(host[rt] as number)} MiB   (guest RAM ${mib(m['guest RAM'])} MiB; ${[...(names[rt] ?? [])].sort().join(', ')})`,
    );
  }
  if (runtimes.length === 2)
    console.log(
      `  host total (excluding guest RAM) ${RUNCVM}/${BASELINE}: ${((host[RUNCVM] as number) / (host[BASELINE as string] as number)).toFixed(2)}x`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) idleMemoryBench();
