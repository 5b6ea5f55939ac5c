/**
 * `npm run bench`: `docker run --rm IMAGE true` with runcvm and with runc, interleaved, plus a
 * phase breakdown of the runcvm runs and a bare-VM baseline (same kernel and accelerator, an
 * init that powers off at once). Prints medians and ratios: absolute numbers on a shared
 * 2-core host mean little, ratios from one run do.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_KERNEL, KERNELS, type KernelName } from '../src/contracts/kinds.ts';
import { QEMU_BINARY } from '../src/vmm/qemu/driver.ts';
import { bareVmArgv, hostFacts } from './bare-vm.ts';
import { median } from './common.ts';
import { durabilityBench } from './durability.ts';
import { idleMemoryBench } from './idle-memory.ts';
import { mmapBench } from './mmap.ts';
import { networkBench } from './network.ts';
import { podsBench } from './pods.ts';
import { qemuMemoryBench } from './qemu-memory.ts';
import { resourcesBench } from './resources.ts';
import { rootfsBench } from './rootfs.ts';
import { snapshotBench } from './snapshot.ts';
import { storageBench } from './storage.ts';
import { systemBench } from './system.ts';

const N = Number(process.env.BENCH_N ?? 7);
const IMAGE = process.env.BENCH_IMAGE ?? 'runcvm-test/busybox';
const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
/** The runcvm runtime under test (a development install registers another name). */
const RUNCVM = process.env.RUNCVM_RUNTIME ?? 'runcvm';

/** runtime 'runc', or RUNCVM with that guest kernel. */
function dockerRun(
  runtime: string,
  kernel?: KernelName,
): { ms: number; startMs: number; endMs: number; stderr: string } {
  const startMs = Date.now();
  const env = runtime === 'runc' ? [] : ['-e', 'RUNCVM_TIMING=1', ...(kernel ? ['-e', `RUNCVM_KERNEL=${kernel}`] : [])];
  const r = spawnSync('docker', ['run', '--rm', `--runtime=${runtime}`, ...env, IMAGE, 'true'], { encoding: 'utf8' });
  const endMs = Date.now();
  if (r.status !== 0) throw new Error(`docker run --runtime=${runtime} failed (${r.status}): ${r.stderr}`);
  return { ms: endMs - startMs, startMs, endMs, stderr: r.stderr };
}

type Timing = Record<string, number>;

/** The "of which" rows need the Node start times, which a runtime older than them does not record. */
function nodeRows(key: string, v: number | undefined): Record<string, number> {
  return v === undefined || Number.isNaN(v) ? {} : { [key]: v };
}

function phases(t: Timing, startMs: number, endMs: number): Record<string, number> {
  return {
    'docker → runtime create (CLI, dockerd, shim, Node start)': t.createStartMs! - startMs,
    ...nodeRows('  of which Node start and bundle load', t.createStartMs! - t.createNodeMs!),
    'runtime create (rewrite, checks)': t.createEndMs! - t.createStartMs!,
    'runc create + start → launcher running': t.launcherStartMs! - t.createEndMs!,
    ...nodeRows("  of which the launcher's Node start and bundle load", t.launcherStartMs! - t.launcherNodeMs!),
    // No Node launcher (runtime/data-plane.ts, vmStart): create hands the network over after runc create.
    ...nodeRows("  of which create's network handoff and start plan", t.startPlanMs! - t.runcCreatedMs!),
    'launcher until VMM exec (virtiofsd up)': t.vmmSpawnMs! - t.launcherStartMs!,
    'VMM start → agent up (kernel boot)': t.agentUpMs! - t.vmmSpawnMs!,
    'agent up → workload exit (mounts, exec)': t.workloadExitMs! - t.agentUpMs!,
    'workload exit → launcher exit (power-off)': t.launcherEndMs! - t.workloadExitMs!,
    'launcher exit → docker run returns (teardown)': endMs - t.launcherEndMs!,
  };
}

/**
 * A VM of the same shape with no devices but the agent's, the agent powering off at once: wall
 * time, and QEMU's CPU time (user + system), which a loaded host stretches far less than wall
 * time (every vCPU and QEMU thread waits for a core there).
 */
function bareVm(kernel: KernelName): { ms: number; cpuMs: number } {
  const { accel } = hostFacts(PREFIX);
  const runDir = mkdtempSync(join(tmpdir(), 'runcvm-bench-'));
  try {
    const argv = bareVmArgv({ prefix: PREFIX, kernel, runDir, name: 'bench', powerOff: true });
    const t0 = Date.now();
    // The shell's `times` prints its children's CPU time: QEMU's, once it has exited. Under TCG
    // QEMU runs as in a container, through runcvm-init without transparent huge pages
    // (runtime/rewrite.ts, thpOff), so the baseline gets what the product gets.
    const wrap = accel === 'tcg' ? [join(PREFIX, 'bin/runcvm-init')] : [];
    const r = spawnSync('sh', ['-c', '"$@"; rc=$?; times; exit $rc', 'sh', ...wrap, QEMU_BINARY, ...argv], {
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, ...(accel === 'tcg' ? { RUNCVM_THP_DISABLE: '1' } : {}) },
    });
    const ms = Date.now() - t0;
    if (r.status !== 0) throw new Error(`bare VM failed: ${r.status ?? r.signal}`);
    const children = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s\s*$/.exec(r.stdout.trim());
    if (!children) throw new Error(`bare VM: no CPU times from the shell: ${r.stdout}`);
    const [, um, us, sm, ss] = children.map(Number) as number[];
    return {
      ms,
      cpuMs: Math.round(((um as number) * 60 + (us as number) + (sm as number) * 60 + (ss as number)) * 1000),
    };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

function timed(args: string[]): number {
  const t0 = Date.now();
  const r = spawnSync(args[0] as string, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return Date.now() - t0;
}

/**
 * `docker exec CTR true` latency and 64 MiB of exec stdout, runcvm vs runc, in one container each.
 * BENCH_EXEC_BASELINE=NAME adds another installed runcvm runtime (e.g. a build of the previous
 * design) to the same interleaved rounds, so before/after ratios come from one run;
 * BENCH_EXEC_DATA_PLANES=node adds a container of the same runtime on that data plane
 * (RUNCVM_DATA_PLANE, the default being the supervisor).
 */
function execBench(): void {
  const baseline = process.env.BENCH_EXEC_BASELINE;
  const planes = (process.env.BENCH_EXEC_DATA_PLANES ?? '').split(',').filter(Boolean);
  const runtimes: Record<string, { runtime: string; env: string[] }> = {
    runc: { runtime: 'runc', env: [] },
    [RUNCVM]: { runtime: RUNCVM, env: [] },
    ...Object.fromEntries(
      planes.map((p) => [`${RUNCVM} ${p}`, { runtime: RUNCVM, env: ['-e', `RUNCVM_DATA_PLANE=${p}`] }]),
    ),
    ...(baseline ? { [baseline]: { runtime: baseline, env: [] } } : {}),
  };
  const names = Object.fromEntries(Object.keys(runtimes).map((rt, i) => [rt, `runcvm-bench-exec-${i}-${process.pid}`]));
  try {
    for (const [rt, name] of Object.entries(names)) {
      const { runtime, env } = runtimes[rt]!;
      timed(['docker', 'run', '-d', '--name', name, `--runtime=${runtime}`, ...env, IMAGE, 'sleep', '3600']);
    }
    for (const name of Object.values(names)) timed(['docker', 'exec', name, 'true']);
    const lat: Record<string, number[]> = {};
    const thr: Record<string, number[]> = {};
    const bytes = 64 * 1024 * 1024;
    for (let i = 0; i < N; i++) {
      for (const [rt, name] of Object.entries(names)) {
        (lat[rt] ??= []).push(timed(['docker', 'exec', name, 'true']));
        (thr[rt] ??= []).push(timed(['sh', '-c', `docker exec ${name} head -c ${bytes} /dev/zero | wc -c >/dev/null`]));
      }
    }
    const mib = (ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(1);
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`docker exec, ${N} interleaved rounds in one running container per runtime (load ${load})`);
    for (const rt of Object.keys(names)) {
      const l = median(lat[rt]!);
      const t = median(thr[rt]!);
      console.log(
        `  ${rt.padEnd(24)} exec true ${String(l).padStart(5)} ms (${(l / median(lat.runc!)).toFixed(2)}x runc)   64 MiB stdout ${mib(t).padStart(6)} MiB/s (time ${(t / median(thr.runc!)).toFixed(2)}x runc)`,
      );
    }
  } finally {
    spawnSync('docker', ['rm', '-f', ...Object.values(names)], { stdio: 'ignore' });
  }
}

/** BENCH_KERNELS=runcvm (comma-separated): only those guest kernels; default both. */
function benchKernels(): KernelName[] {
  const want = process.env.BENCH_KERNELS?.split(',').filter(Boolean);
  if (!want) return [...KERNELS];
  const bad = want.filter((k) => !(KERNELS as readonly string[]).includes(k));
  if (bad.length) throw new Error(`BENCH_KERNELS: unknown kernel ${bad.join(', ')} (allowed: ${KERNELS.join(', ')})`);
  return want as KernelName[];
}

type PhaseSamples = Record<string, number[]>;

function addPhases(samples: PhaseSamples, r: ReturnType<typeof dockerRun>): void {
  const line = r.stderr.split('\n').find((l) => l.startsWith('runcvm-timing '));
  if (!line) return;
  for (const [key, v] of Object.entries(phases(JSON.parse(line.slice(14)) as Timing, r.startMs, r.endMs)))
    (samples[key] ??= []).push(v);
}

function printPhases(title: string, samples: PhaseSamples, total: number): void {
  console.log(title);
  for (const [k, xs] of Object.entries(samples)) {
    const m = median(xs);
    console.log(`  ${k.padEnd(56)} ${String(m).padStart(6)} ms  ${((100 * m) / total).toFixed(0).padStart(3)}%`);
  }
}

/**
 * `docker run --rm IMAGE true`: runc, runcvm with each kernel and the bare VMs, interleaved.
 * BENCH_RUN_BASELINE=NAME adds another installed runcvm runtime (e.g. a build of main before a
 * change) with the default kernel to the same rounds, so before/after come from one run.
 */
function runBench(): void {
  const kernels = benchKernels();
  const baseline = process.env.BENCH_RUN_BASELINE;
  dockerRun('runc');
  for (const k of kernels) dockerRun(RUNCVM, k);
  if (baseline) dockerRun(baseline, DEFAULT_KERNEL);
  const runc: number[] = [];
  const vm: Record<string, number[]> = {};
  const bare: Record<string, number[]> = {};
  const bareCpu: Record<string, number[]> = {};
  const phaseSamples: PhaseSamples = {};
  const base: number[] = [];
  const basePhases: PhaseSamples = {};
  const runBaseline = () => {
    if (!baseline) return;
    const r = dockerRun(baseline, DEFAULT_KERNEL);
    base.push(r.ms);
    addPhases(basePhases, r);
  };
  for (let i = 0; i < N; i++) {
    runc.push(dockerRun('runc').ms);
    // The start right after another VM's teardown runs while dockerd, containerd and the shim
    // still clean that one up: the baseline takes turns with the runtime under test in that
    // place, so neither gets the quieter slot in every round.
    if (i % 2 === 0) runBaseline();
    // Both kernels in every round: their ratio comes from the same minutes of host load.
    for (const k of kernels) {
      const r = dockerRun(RUNCVM, k);
      (vm[k] ??= []).push(r.ms);
      if (k === DEFAULT_KERNEL) addPhases(phaseSamples, r);
    }
    if (i % 2 === 1) runBaseline();
    for (const k of kernels) {
      const b = bareVm(k);
      (bare[k] ??= []).push(b.ms);
      (bareCpu[k] ??= []).push(b.cpuMs);
    }
    process.stderr.write(
      `round ${i + 1}/${N}: runc ${runc.at(-1)} ms, ${baseline ? `${baseline} ${base.at(-1)} ms, ` : ''}${kernels.map((k) => `${k}: runcvm ${vm[k]!.at(-1)} ms, bare VM ${bare[k]!.at(-1)} ms (CPU ${bareCpu[k]!.at(-1)} ms)`).join('; ')}\n`,
    );
  }
  const mRunc = median(runc);
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`docker run --rm ${IMAGE} true, ${N} interleaved rounds (load ${load})`);
  console.log(`  runc                                  median ${mRunc} ms`);
  for (const k of kernels) {
    const m = median(vm[k]!);
    const mb = median(bare[k]!);
    console.log(
      `  runcvm, ${k.padEnd(6)} kernel                 median ${m} ms   runcvm/runc ${(m / mRunc).toFixed(2)}x`,
    );
    console.log(
      `  bare VM, ${k.padEnd(6)} kernel (agent powers off at once)  median ${mb} ms   (runcvm - runc)/bare ${((m - mRunc) / mb).toFixed(2)}x`,
    );
    if (baseline && k === DEFAULT_KERNEL) {
      const mBase = median(base);
      console.log(
        `  baseline ${baseline}, ${k} kernel  median ${mBase} ms   runcvm/runc ${(mBase / mRunc).toFixed(2)}x   (runcvm - runc)/bare ${((mBase - mRunc) / mb).toFixed(2)}x   ${RUNCVM}/${baseline} ${(m / mBase).toFixed(2)}x`,
      );
    }
  }
  const [a, b] = kernels;
  if (a && b) {
    console.log(
      `  bare boot ${a}/${b}: ${(median(bare[a]!) / median(bare[b]!)).toFixed(2)}x   docker run ${a}/${b}: ${(median(vm[a]!) / median(vm[b]!)).toFixed(2)}x`,
    );
    console.log(
      `  bare boot QEMU CPU time: ${kernels.map((k) => `${k} ${median(bareCpu[k]!)} ms`).join(', ')}   ${a}/${b}: ${(median(bareCpu[a]!) / median(bareCpu[b]!)).toFixed(2)}x`,
    );
  }
  console.log(
    `  initramfs: ${kernels.map((k) => `${k} ${(statSync(join(PREFIX, `kernels/${k}/initramfs.cpio`)).size / 1e6).toFixed(2)} MB`).join(', ')}`,
  );
  if (vm[DEFAULT_KERNEL])
    printPhases(`runcvm phases (${DEFAULT_KERNEL} kernel, medians):`, phaseSamples, median(vm[DEFAULT_KERNEL]));
  if (baseline) printPhases(`${baseline} phases (${DEFAULT_KERNEL} kernel, medians):`, basePhases, median(base));
}

async function main(): Promise<void> {
  // BENCH_RUN=0 skips the docker run rounds (e.g. to measure only docker exec).
  if (process.env.BENCH_RUN !== '0') runBench();
  if (process.env.BENCH_EXEC !== '0') execBench();
  if (process.env.BENCH_QEMU_MEMORY !== '0') await qemuMemoryBench();
  if (process.env.BENCH_IDLE_MEMORY !== '0') idleMemoryBench();
  if (process.env.BENCH_ROOTFS !== '0') rootfsBench();
  if (process.env.BENCH_DURABILITY !== '0') await durabilityBench();
  if (process.env.BENCH_MMAP !== '0') await mmapBench();
  if (process.env.BENCH_STORAGE !== '0') storageBench();
  if (process.env.BENCH_NETWORK !== '0') await networkBench();
  if (process.env.BENCH_RESOURCES !== '0') await resourcesBench();
  if (process.env.BENCH_SYSTEM !== '0') await systemBench();
  if (process.env.BENCH_PODS !== '0') await podsBench();
  // A prototype, not a product path (issue 14's stretch item): only when asked for.
  if (process.env.BENCH_SNAPSHOT === '1') await snapshotBench();
}

await main();
