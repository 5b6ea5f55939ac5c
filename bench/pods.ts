/**
 * Kubernetes pods part of `npm run bench` (skip with BENCH_PODS=0): a 2-container pod through
 * containerd's CRI API (test/e2e/containerd.ts, cri.ts), one VM per pod (the host setting
 * "pods": "vm") against one VM per app container beside a runc sandbox ("per-container"),
 * interleaved. Measured: RunPodSandbox until both containers have written their first line
 * (start), and the PSS of every process of the pod on the host (the pod's shim and all below
 * it: launchers, QEMU, virtiofsd, exec clients) once both run (memory per pod).
 *
 * The mode is a host setting of the install under test: this part rewrites RUNCVM_PREFIX's
 * etc/config.json for the "per-container" rounds and puts the file back afterwards. Run it
 * against a development install, never one that others are using.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_REF, startContainerd } from '../test/e2e/containerd.ts';
import { Cri, createContainer, removePod, runPodSandbox, startContainer } from '../test/e2e/cri.ts';
import { median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_PODS_N ?? 3);
const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
type Mode = 'vm' | 'per-container';
/** BENCH_POD_MODES=vm measures the pod VM alone (e.g. against another install, as a baseline). */
const MODES = (process.env.BENCH_POD_MODES ?? 'vm,per-container').split(',').filter(Boolean) as Mode[];
if (MODES.some((m) => m !== 'vm' && m !== 'per-container'))
  throw new Error(`BENCH_POD_MODES=${process.env.BENCH_POD_MODES}: expected vm and/or per-container`);

/** Every process whose ancestry reaches `root` (the pod's shim), root included. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [root];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent)
      if (!out.includes(pid) && out.includes(ppid)) {
        out.push(pid);
        grew = true;
      }
  }
  return out;
}

function pssKb(pids: number[]): number {
  let kb = 0;
  for (const p of pids) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // Gone meanwhile.
    }
  }
  return kb;
}

function shimOf(sandbox: string): number {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes('containerd-shim') && l.includes(`-id ${sandbox}`));
  if (!line) throw new Error(`no shim for pod ${sandbox}`);
  return Number(line.trim().split(/\s+/)[0]);
}

async function onePod(cri: Cri, dir: string, round: number, mode: Mode): Promise<{ startMs: number; pssMiB: number }> {
  const pod = {
    name: `bench-${mode}-${round}`,
    uid: `uid-bench-${process.pid}-${mode}-${round}`,
    namespace: 'default',
    logDirectory: `${dir}/logs-${mode}-${round}`,
  };
  const t0 = Date.now();
  const sandbox = await runPodSandbox(cri, pod, 'runcvm');
  try {
    for (const name of ['app', 'sidecar']) {
      const id = await createContainer(
        cri,
        sandbox,
        pod,
        name,
        BUSYBOX_REF,
        ['sh', '-c', 'echo ready; exec sleep 600'],
        {
          pidMode: 1,
        },
      );
      await startContainer(cri, id);
    }
    const ready = (n: string) =>
      existsSync(`${pod.logDirectory}/${n}.log`) &&
      readFileSync(`${pod.logDirectory}/${n}.log`, 'utf8').includes(' ready\n');
    while (!(ready('app') && ready('sidecar'))) {
      if (Date.now() - t0 > 600_000) throw new Error(`pod ${pod.name} (${mode}): containers not ready after 600 s`);
      await sleep(100);
    }
    const startMs = Date.now() - t0;
    await sleep(2000); // let both settle: the memory is the running pod's, not the boot's peak
    return { startMs, pssMiB: pssKb(descendants(shimOf(sandbox))) / 1024 };
  } finally {
    await removePod(cri, sandbox);
  }
}

export async function podsBench(): Promise<void> {
  const settings = join(PREFIX, 'etc/config.json');
  const original = readFileSync(settings, 'utf8');
  const setMode = (mode: Mode) =>
    writeFileSync(settings, `${JSON.stringify({ ...JSON.parse(original), pods: mode }, null, 2)}\n`, { mode: 0o644 });
  const c = await startContainerd('bench-pods');
  const cri = new Cri(c.address);
  const samples: Record<Mode, { startMs: number[]; pssMiB: number[] }> = {
    vm: { startMs: [], pssMiB: [] },
    'per-container': { startMs: [], pssMiB: [] },
  };
  try {
    for (let i = 0; i < ROUNDS; i++) {
      for (const mode of MODES) {
        setMode(mode);
        const r = await onePod(cri, c.dir, i, mode);
        samples[mode].startMs.push(r.startMs);
        samples[mode].pssMiB.push(r.pssMiB);
      }
    }
  } finally {
    writeFileSync(settings, original, { mode: 0o644 });
    await c.stop();
  }
  const m = (mode: Mode, k: 'startMs' | 'pssMiB') => median(samples[mode][k]);
  console.log(`Kubernetes pod of 2 containers through CRI (medians of ${ROUNDS}):`);
  for (const mode of MODES)
    console.log(
      `  ${mode === 'vm' ? 'one VM per pod      ' : 'one VM per container'}: start ${String(m(mode, 'startMs')).padStart(6)} ms   host memory (PSS) ${m(mode, 'pssMiB').toFixed(0).padStart(5)} MiB`,
    );
  if (MODES.length === 2)
    console.log(
      `  pod VM / per-container: start ${(m('vm', 'startMs') / m('per-container', 'startMs')).toFixed(2)}x   memory ${(m('vm', 'pssMiB') / m('per-container', 'pssMiB')).toFixed(2)}x`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) await podsBench();
