/**
 * Durability of the container's root, image root vs virtiofs root vs runc (docs/storage.md,
 * "Durability"): write throughput of `dd` 256 MiB with and without `conv=fsync`, and the flush
 * delay: from write() returning in the container to the data and the file's name being in the
 * host file a kill leaves behind (the image root's upper.ext4, or the file in Docker's layer for
 * virtiofs and runc). `bench/findmark.c` scans only the allocated extents of that file. For the
 * image root also the live write-back's delay (to the file in Docker's layer, what `docker cp` of
 * the running container reads) and the guest's idle CPU. BENCH_DURABILITY_BASELINE=<runtime> adds
 * an image-root row for another installed runtime (e.g. one without the live write-back).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, median } from './common.ts';

const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const ROUNDS = Number(process.env.BENCH_DURABILITY_N ?? 10);
const DD_ROUNDS = Number(process.env.BENCH_DD_N ?? 3);
const FIND_TIMEOUT_MS = 60_000;
const BUSYBOX = 'runcvm-test/busybox';

interface Config {
  label: string;
  runtime: string;
  env: string[];
  /** The host file that holds a guest file `name` once it is safe from a kill. */
  hostFile(upperDir: string, name: string): string;
  /** Drive images must show the file's name (its directory entry) as well as its data. */
  image: boolean;
}

const imageRoot = (label: string, runtime: string): Config => ({
  label,
  runtime,
  env: ['-e', 'RUNCVM_ROOTFS=image'],
  hostFile: (u) => join(dirname(u), 'runcvm', 'upper.ext4'),
  image: true,
});
const BASELINE = process.env.BENCH_DURABILITY_BASELINE;
const CONFIGS: Config[] = [
  { label: 'runc', runtime: 'runc', env: [], hostFile: (u, n) => join(u, n), image: false },
  { label: 'virtiofs root', runtime: RUNTIME, env: [], hostFile: (u, n) => join(u, n), image: false },
  imageRoot('image root', RUNTIME),
  ...(BASELINE ? [imageRoot(`image root, ${BASELINE}`, BASELINE)] : []),
];
const IDLE_MS = 10_000;

function buildFindmark(dir: string): string {
  const out = join(dir, 'findmark');
  const r = spawnSync('cc', ['-O2', '-o', out, new URL('./findmark.c', import.meta.url).pathname], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building findmark: ${r.stderr}`);
  return out;
}

/** Seconds between two /proc/uptime readings the script prints (busybox dd reports no rate). */
function elapsed(stdout: string): number {
  const [a, b] = stdout.trim().split(/\s+/).map(Number);
  if (a === undefined || b === undefined || !(b >= a)) throw new Error(`no timing in: ${stdout}`);
  return Math.max(b - a, 0.01);
}

function throughput(c: Config, name: string): { plain: number; fsync: number } {
  const mibs = (fsync: boolean) => {
    const up = 'cut -d" " -f1 /proc/uptime';
    const script = `${up}; dd if=/dev/zero of=/dd bs=1M count=256 ${fsync ? 'conv=fsync' : ''} 2>/dev/null && ${up}; rm /dd`;
    const r = spawnSync('docker', ['exec', name, 'sh', '-c', script], { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) throw new Error(`${c.label}: dd failed: ${r.stdout}${r.stderr}`);
    return 256 / elapsed(r.stdout);
  };
  const plain: number[] = [];
  const fsync: number[] = [];
  for (let i = 0; i < DD_ROUNDS; i++) {
    plain.push(mibs(false));
    fsync.push(mibs(true));
  }
  return { plain: median(plain), fsync: median(fsync) };
}

/** Per line from stdin: `data` writes a new marker file; `append` appends a marker to one existing
 * file (no name changes: only the dirty pages show it); `name` creates an empty file (a change
 * that dirties no page); then says so on stdout. */
const WRITER = [
  'echo start > /a-$N; i=0; while read x; do i=$((i+1))',
  'case $x in name) touch /e-$N-$i;; append) echo APPEND-$N-$i >> /a-$N;; *) echo MARK-$N-$i > /m-$N-$i;; esac',
  'echo wrote $i; done',
].join('; ');

type Kind = 'data' | 'append' | 'name';

interface Delays {
  data: number[];
  append: number[];
  /** Image root only: on the host, virtiofs and runc create the name at once. */
  name: number[];
  /** Image root only: until the marker is in the file in Docker's layer (the live write-back). */
  layer: number[];
}

/** Milliseconds until the layer file exists and holds every string, or -1 after the timeout. */
async function inLayer(file: string, strings: string[]): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < FIND_TIMEOUT_MS) {
    try {
      if (existsSync(file) && strings.every((x) => readFileSync(file, 'latin1').includes(x))) return Date.now() - t0;
    } catch {
      // replaced by a rename between the two calls: look again
    }
    await sleep(10);
  }
  return -1;
}

/** Share of one host CPU the container's QEMU used over IDLE_MS while the workload sleeps. */
async function idleCpu(name: string): Promise<number> {
  const id = docker(['inspect', '-f', '{{.Id}}', name]).trim().slice(0, 12);
  const r = spawnSync('pgrep', ['-f', `qemu-system-x86_64 -name runcvm-${id}`], { encoding: 'utf8' });
  const pid = r.stdout.trim().split('\n')[0];
  if (!pid) return Number.NaN;
  const ticks = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (USER_HZ = 100)
  };
  const a = ticks();
  await sleep(IDLE_MS);
  return ((ticks() - a) * 10) / IDLE_MS;
}

function findOnHost(findmark: string, file: string, strings: string[]): Promise<string> {
  return new Promise((resolve) => {
    const f = spawn(findmark, [file, String(FIND_TIMEOUT_MS), ...strings], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    f.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    f.on('close', () => resolve(out.trim()));
  });
}

async function flushDelays(c: Config, findmark: string): Promise<Delays> {
  const name = `runcvm-bench-dur-${process.pid}-${c.label.replace(/\W/g, '')}`;
  const nonce = randomBytes(6).toString('hex');
  const child = spawn(
    'docker',
    [
      'run',
      '-i',
      '--rm',
      '--name',
      name,
      `--runtime=${c.runtime}`,
      ...c.env,
      '-e',
      `N=${nonce}`,
      BUSYBOX,
      'sh',
      '-c',
      WRITER,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const delays: Delays = { data: [], append: [], name: [], layer: [] };
  try {
    let upper = '';
    const cycle: Kind[] = c.image ? ['data', 'append', 'name'] : ['data', 'append'];
    const kinds = Array.from({ length: ROUNDS }, (_, i) => cycle[i % cycle.length] as Kind);
    for (const [n, kind] of kinds.entries()) {
      const i = n + 1;
      // Random phase against the guest's flush period.
      await sleep(200 + Math.floor(Math.random() * 600));
      child.stdin.write(`${kind}\n`);
      const line = await lines.next();
      const t0 = Date.now();
      if (line.done || line.value !== `wrote ${i}`)
        throw new Error(`${c.label}: expected "wrote ${i}", got ${JSON.stringify(line.value)}`);
      upper ||= docker(['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', name]).trim();
      const file = { name: `e-${nonce}-${i}`, append: `a-${nonce}`, data: `m-${nonce}-${i}` }[kind];
      const strings = {
        name: [file],
        append: [`APPEND-${nonce}-${i}\n`],
        data: [`MARK-${nonce}-${i}\n`, ...(c.image ? [file] : [])],
      }[kind];
      const layer = c.image
        ? inLayer(
            join(upper, file),
            strings.filter((x) => x !== file),
          ).then((ms) => (ms >= 0 ? Date.now() - t0 : -1))
        : undefined;
      const found = await findOnHost(findmark, c.hostFile(upper, file), strings);
      if (found === 'timeout')
        throw new Error(`${c.label}: ${kind} marker ${i} not on the host within ${FIND_TIMEOUT_MS} ms`);
      delays[kind].push(Date.now() - t0);
      const l = await layer;
      if (l !== undefined) delays.layer.push(l);
    }
  } finally {
    child.stdin.end();
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
  return delays;
}

export async function durabilityBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-bench-dur-'));
  try {
    const findmark = buildFindmark(dir);
    const rows: { c: Config; plain: number; fsync: number; idle: number; delays: Delays }[] = [];
    // BENCH_DURABILITY_ONLY=image: one configuration (the ratios then need runc's row from another run).
    const only = process.env.BENCH_DURABILITY_ONLY;
    for (const c of CONFIGS.filter((x) => !only || x.label.includes(only))) {
      const name = `runcvm-bench-dd-${process.pid}-${c.label.replace(/\W/g, '')}`;
      try {
        docker(['run', '-d', '--name', name, `--runtime=${c.runtime}`, ...c.env, BUSYBOX, 'sleep', '3600']);
        docker(['exec', name, 'true']);
        const t = throughput(c, name);
        const idle = c.runtime === 'runc' ? Number.NaN : await idleCpu(name);
        rows.push({ c, ...t, idle, delays: await flushDelays(c, findmark) });
        process.stderr.write(`durability: ${c.label} done\n`);
      } finally {
        spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
      }
    }
    const runc = rows.find((r) => r.c.runtime === 'runc') ?? (rows[0] as (typeof rows)[number]);
    console.log(
      `root filesystem durability: dd 256 MiB (median of ${DD_ROUNDS}), flush delay (${ROUNDS} writes at random phases)`,
    );
    const spread = (xs: number[]) => {
      const d = [...xs].sort((a, b) => a - b);
      return d.length ? `median ${median(d)} ms, max ${d.at(-1)} ms` : '-';
    };
    for (const r of rows) {
      console.log(
        `  ${r.c.label.padEnd(14)} write ${r.plain.toFixed(1).padStart(7)} MiB/s (${(runc.plain / r.plain).toFixed(1)}x runc's time)` +
          `   fsync'd ${r.fsync.toFixed(1).padStart(7)} MiB/s (${(runc.fsync / r.fsync).toFixed(1)}x)` +
          `   flush delay: new file ${spread(r.delays.data)}; append ${spread(r.delays.append)}; empty file ${spread(r.delays.name)}` +
          (Number.isNaN(r.idle) ? '' : `   idle QEMU CPU ${(r.idle * 100).toFixed(1)} %`) +
          (r.delays.layer.length ? `   in Docker's layer (live write-back; -1: never): ${spread(r.delays.layer)}` : ''),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
