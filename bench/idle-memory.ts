/**
 * Host memory of one idle container by process, for the data-plane split (docs/performance.md):
 * PSS of every host process in the container's cgroup, guest RAM (QEMU's memfd "mem" mapping,
 * what the guest touched) counted apart, and QEMU's own part split into the TCG translation cache,
 * other anonymous memory and file pages. Runs each data plane of the runtime under test
 * (BENCH_DATA_PLANES, default node,supervisor: RUNCVM_DATA_PLANE per container) and, when
 * BENCH_BASELINE_RUNTIME names another install, that one too, in interleaved rounds, and prints
 * medians side by side. BENCH_RUNTIMES=a,b,… instead compares those installs (each with
 * BENCH_DATA_PLANE when set), e.g. the same build with different QEMU settings. BENCH_KERNEL sets
 * RUNCVM_KERNEL for every container. BENCH_VOLUMES=9p gives every container RUNCVM_VOLUMES=9p and one
 * bind volume (diod's PSS is counted with virtiofsd's, as the file servers).
 * BENCH_CONTAINERS=N runs N containers of a variant at once and reports the per-container median
 * (PSS splits the file pages the N QEMUs share). BENCH_WORKLOAD=1 then runs a workload in the
 * first one (docker exec loop, a shell script in the guest), reports its wall time and QEMU's CPU
 * time, and measures that container's memory again after it.
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
const RUNTIMES = (process.env.BENCH_RUNTIMES ?? '').split(',').filter(Boolean);
const DATA_PLANE = process.env.BENCH_DATA_PLANE;
/** RUNCVM_KERNEL for every container (unset: the runtime's default kernel). */
const KERNEL = process.env.BENCH_KERNEL;
const CONTAINERS = Number(process.env.BENCH_CONTAINERS ?? 1);
const WORKLOAD = process.env.BENCH_WORKLOAD === '1';
const VOLUMES = process.env.BENCH_VOLUMES;
if (VOLUMES !== undefined && VOLUMES !== '9p' && VOLUMES !== 'virtiofs')
  throw new Error(`BENCH_VOLUMES=${VOLUMES}: expected 9p or virtiofs`);
const FILE_SERVERS = new Set(['virtiofsd', 'diod']);
const EXEC_LOOP = 10;
/** Varied guest code after boot: file tree walks, checksums, compression, shell loops. */
const SCRIPT =
  'find / -xdev -type f 2>/dev/null | head -3000 | xargs md5sum >/dev/null 2>&1; ' +
  'for i in $(seq 30); do ls -lR /bin /etc >/dev/null; done; ' +
  'gzip -c /bin/busybox | gunzip | sha256sum >/dev/null; ' +
  'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; ' +
  'sort /etc/services 2>/dev/null | uniq -c | wc -l >/dev/null; tar -cf - /bin /lib 2>/dev/null | wc -c >/dev/null';

type Part =
  | 'data plane'
  | 'data plane RSS'
  | 'qemu own'
  | 'qemu tcg cache'
  | 'qemu anon'
  | 'qemu file'
  | 'qemu kernel file'
  | 'virtiofsd'
  | 'guest RAM';
const PARTS: Part[] = [
  'data plane',
  'data plane RSS',
  'qemu own',
  'qemu tcg cache',
  'qemu anon',
  'qemu file',
  'qemu kernel file',
  'virtiofsd',
  'guest RAM',
];
/** The TCG translation cache is QEMU's one anonymous mapping that is writable and executable (the
 * JIT's code buffer, tb-size long: vmm/qemu/argv.ts); nothing else QEMU maps is both. */
const TB_MAPPING_PERMS = /^rwx/;

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
function measure(name: string): { kb: Record<Part, number>; procs: string[]; qemuPid?: number } {
  const pid = docker(['inspect', '-f', '{{.State.Pid}}', name]).trim();
  const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const kb = Object.fromEntries(PARTS.map((p) => [p, 0])) as Record<Part, number>;
  const procs: string[] = [];
  let qemuPid: number | undefined;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8') !== cgroup) continue;
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const total = pss(rollup);
      let guest = 0;
      const qemu = { tb: 0, anon: 0, file: 0, kernel: 0 };
      for (const block of readFileSync(`/proc/${p}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
        const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/m.exec(block);
        const path = head?.[2] ?? '';
        if (/memfd:mem/.test(path)) guest += pss(block);
        else if (path.startsWith('/')) {
          qemu.file += pss(block);
          // The guest kernel and initramfs QEMU keeps mapped after loading them (kernels/<name>/).
          if (path.includes('/kernels/')) qemu.kernel += pss(block);
        } else if (head && TB_MAPPING_PERMS.test(head[1] as string)) qemu.tb += pss(block);
        else qemu.anon += pss(block);
      }
      procs.push(comm);
      kb['guest RAM'] += guest;
      if (comm.startsWith('qemu')) {
        qemuPid = Number(p);
        kb['qemu own'] += total - guest;
        kb['qemu tcg cache'] += qemu.tb;
        kb['qemu anon'] += qemu.anon;
        kb['qemu file'] += qemu.file;
        kb['qemu kernel file'] += qemu.kernel;
      } else if (FILE_SERVERS.has(comm)) kb.virtiofsd += total;
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
  return { kb, procs, ...(qemuPid ? { qemuPid } : {}) };
}

/** QEMU's CPU time so far (user + system), ms. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

interface Work {
  execWallMs: number;
  execCpuMs: number;
  scriptWallMs: number;
  scriptCpuMs: number;
}

/** The workload in a running container: wall time and QEMU's CPU time of each phase. */
function workload(name: string, qemuPid: number): Work {
  let c0 = cpuMs(qemuPid);
  let t0 = Date.now();
  for (let i = 0; i < EXEC_LOOP; i++) docker(['exec', name, 'true']);
  const execWallMs = Date.now() - t0;
  const execCpuMs = cpuMs(qemuPid) - c0;
  c0 = cpuMs(qemuPid);
  t0 = Date.now();
  docker(['exec', name, 'sh', '-c', SCRIPT]);
  return { execWallMs, execCpuMs, scriptWallMs: Date.now() - t0, scriptCpuMs: cpuMs(qemuPid) - c0 };
}

interface Sample {
  kb: Record<Part, number>;
  procs: string[];
  work?: Work;
  after?: Record<Part, number>;
}

function once(v: Variant, round: number): Sample {
  const names = Array.from(
    { length: CONTAINERS },
    (_, k) => `runcvm-bench-idle-${process.pid}-${round}-${k}-${v.runtime}-${v.dataPlane ?? 'default'}`,
  );
  const plane = [
    ...(v.dataPlane ? ['-e', `RUNCVM_DATA_PLANE=${v.dataPlane}`] : []),
    ...(KERNEL ? ['-e', `RUNCVM_KERNEL=${KERNEL}`] : []),
    ...(VOLUMES ? ['-e', `RUNCVM_VOLUMES=${VOLUMES}`, '-v', '/tmp:/bench-volume'] : []),
  ];
  try {
    for (const name of names) {
      docker(['run', '-d', '--name', name, `--runtime=${v.runtime}`, ...plane, IMAGE, 'sleep', '3600']);
      docker(['exec', name, 'true']); // booted
    }
    spawnSync('sleep', ['5']); // and idle
    const all = names.map(measure);
    const kb = Object.fromEntries(PARTS.map((p) => [p, median(all.map((m) => m.kb[p]))])) as Record<Part, number>;
    const first = all[0];
    if (!WORKLOAD || !first?.qemuPid) return { kb, procs: first?.procs ?? [] };
    const work = workload(names[0] as string, first.qemuPid);
    spawnSync('sleep', ['5']);
    return { kb, procs: first.procs, work, after: measure(names[0] as string).kb };
  } finally {
    for (const name of names) spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

const mib = (kb: number) => (kb / 1024).toFixed(1).padStart(6);

/** Medians of each part over the rounds. */
function medians(xs: Record<Part, number>[]): Record<Part, number> {
  return Object.fromEntries(PARTS.map((p) => [p, median(xs.map((x) => x[p]))])) as Record<Part, number>;
}

/** One line: the parts of one variant's host memory; returns the host total (kB). */
function report(label: string, m: Record<Part, number>, procs: string): number {
  const host = m['data plane'] + m['qemu own'] + m.virtiofsd;
  console.log(
    `  ${label.padEnd(28)} data plane ${mib(m['data plane'])} MiB (RSS ${mib(m['data plane RSS'])})   QEMU own ${mib(m['qemu own'])} MiB (TCG cache ${mib(m['qemu tcg cache'])}, other anon ${mib(m['qemu anon'])}, files ${mib(m['qemu file'])} of which the kernel ${mib(m['qemu kernel file'])})   virtiofsd ${mib(m.virtiofsd)} MiB   host total ${mib(host)} MiB   (guest RAM ${mib(m['guest RAM'])} MiB${procs})`,
  );
  return host;
}

function variantsToRun(): Variant[] {
  if (RUNTIMES.length)
    return RUNTIMES.map((r) => ({ label: r, runtime: r, ...(DATA_PLANE ? { dataPlane: DATA_PLANE } : {}) }));
  return [
    ...(BASELINE && BASELINE !== RUNCVM ? [{ label: BASELINE, runtime: BASELINE }] : []),
    ...DATA_PLANES.map((dp) => ({ label: `${RUNCVM} ${dp}`, runtime: RUNCVM, dataPlane: dp })),
  ];
}

export function idleMemoryBench(): void {
  const variants = variantsToRun();
  const samples: Record<string, Sample[]> = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const v of variants) (samples[v.label] ??= []).push(once(v, i));
    process.stderr.write(`idle memory round ${i + 1}/${ROUNDS}\n`);
  }
  const each = CONTAINERS > 1 ? `, ${CONTAINERS} containers at once, per container` : '';
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `idle container host memory by process (PSS, ${IMAGE} sleep${each}${VOLUMES ? `, RUNCVM_VOLUMES=${VOLUMES} with one volume (virtiofsd below: the file servers, diod too)` : ''}, ${ROUNDS} interleaved rounds, medians; load ${load})`,
  );
  const host: Record<string, number> = {};
  for (const v of variants) {
    const xs = samples[v.label] as Sample[];
    const procs = [...new Set(xs.flatMap((x) => x.procs))].sort().join(', ');
    host[v.label] = report(v.label, medians(xs.map((x) => x.kb)), `; ${procs}`);
  }
  const first = variants[0] as Variant;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  for (const v of variants.slice(1))
    console.log(
      `  host total (excluding guest RAM) ${v.label} / ${first.label}: ${ratio(host[v.label] as number, host[first.label] as number)}`,
    );
  if (!WORKLOAD) return;
  console.log(
    `workload in the first container: ${EXEC_LOOP} x docker exec true, then a shell script in the guest (wall time, QEMU CPU time; medians), and its memory after it`,
  );
  const work: Record<string, Work> = {};
  for (const v of variants) {
    const ws = (samples[v.label] as Sample[]).flatMap((x) => (x.work ? [x.work] : []));
    if (!ws.length) continue;
    const w: Work = {
      execWallMs: median(ws.map((x) => x.execWallMs)),
      execCpuMs: median(ws.map((x) => x.execCpuMs)),
      scriptWallMs: median(ws.map((x) => x.scriptWallMs)),
      scriptCpuMs: median(ws.map((x) => x.scriptCpuMs)),
    };
    work[v.label] = w;
    const base = work[first.label] ?? w;
    console.log(
      `  ${v.label.padEnd(28)} exec loop ${w.execWallMs} ms (${ratio(w.execWallMs, base.execWallMs)}), QEMU CPU ${w.execCpuMs} ms (${ratio(w.execCpuMs, base.execCpuMs)})   script ${w.scriptWallMs} ms (${ratio(w.scriptWallMs, base.scriptWallMs)}), QEMU CPU ${w.scriptCpuMs} ms (${ratio(w.scriptCpuMs, base.scriptCpuMs)})`,
    );
  }
  for (const v of variants) {
    const after = (samples[v.label] as Sample[]).flatMap((x) => (x.after ? [x.after] : []));
    if (after.length) report(`${v.label} after`, medians(after), '');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) idleMemoryBench();
