/**
 * Issue 14's stretch item, a prototype measured and not promised: start a VM from a snapshot of
 * one that booted to "agent ready" instead of booting it. `BENCH_SNAPSHOT=1 npm run bench`.
 *
 * The VM is the bare-VM shape of bench/run.ts (no file share, no NIC) with the agent's channel.
 * "Agent ready" is the agent blocked in its HELLO write: the virtio port does not take data until
 * the host connects, so the guest is idle there and nothing of the session has happened yet. The
 * template is saved once with QMP `migrate` (QEMU 7.2 has no `file:` migration, and QEMU's own
 * sandbox forbids `exec:`, so the stream goes through a Unix socket into a file), and each start is
 * a fresh QEMU with `-incoming`, fed the file. Both starts are timed from QEMU's spawn to the
 * agent's first HELLO bytes on the channel, interleaved. What keeps this out of the product is
 * printed too: whether QEMU migrates a VM with the vhost-user-fs device the container's root
 * needs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_KERNEL } from '../src/contracts/kinds.ts';
import { qemuPaths } from '../src/vmm/qemu/argv.ts';
import { QEMU_BINARY, VIRTIOFSD_BINARY } from '../src/vmm/qemu/driver.ts';
import { Qmp } from '../src/vmm/qemu/qmp.ts';
import { bareVmArgv } from './bare-vm.ts';
import { median } from './common.ts';

const N = Number(process.env.BENCH_N ?? 7);
const PREFIX = process.env.RUNCVM_PREFIX ?? '/opt/runcvm';
const TIMEOUT_MS = 120_000;

/** The bare-VM argv; `debug` makes the agent say on the console when it reached its channel. */
function argv(runDir: string, debug: boolean, fsShare?: string): string[] {
  return bareVmArgv({
    prefix: PREFIX,
    kernel: DEFAULT_KERNEL,
    runDir,
    name: 'bench-snapshot',
    debug,
    ...(fsShare ? { fsShare } : {}),
  });
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, intervalMs = 5): Promise<T> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`snapshot bench: timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Connects to the agent channel as soon as QEMU listens and resolves at its first bytes (HELLO). */
function firstAgentBytes(socket: string, qemu: ChildProcess): Promise<void> {
  return until('the agent socket', () => (existsSync(socket) ? true : undefined)).then(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(socket);
        s.once('data', () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
        qemu.once('exit', (code) => reject(new Error(`qemu exited (${code}) before the agent spoke`)));
      }),
  );
}

function startQemu(args: string[]): ChildProcess {
  const q = spawn(QEMU_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  q.stderr?.setEncoding('utf8');
  return q;
}

async function stopQemu(q: ChildProcess): Promise<void> {
  if (q.exitCode !== null || q.signalCode !== null) return;
  const gone = new Promise((r) => q.once('exit', r));
  q.kill('SIGKILL');
  await gone;
}

/** Cold: spawn → HELLO of a normal boot. */
async function coldStart(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-snap-cold-'));
  const q = startQemu(argv(dir, false));
  const t0 = Date.now();
  try {
    await firstAgentBytes(qemuPaths(dir).agentSocket, q);
    return Date.now() - t0;
  } finally {
    await stopQemu(q);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Streams QEMU's migration into `file` through a Unix socket it connects to. */
async function migrateToFile(qmp: Qmp, dir: string, file: string): Promise<void> {
  const sock = join(dir, 'mig-out.sock');
  const done = new Promise<void>((resolve, reject) => {
    const srv = createServer((c) => {
      const out = createWriteStream(file);
      c.pipe(out);
      out.on('finish', () => {
        srv.close();
        resolve();
      });
      out.on('error', reject);
    });
    srv.listen(sock);
  });
  await until('the migration socket', () => (existsSync(sock) ? true : undefined));

  // QEMU's default throttle (128 MiB/s) is for live migration over a network, not a local file.
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': 64 * 1024 * 1024 * 1024 });
  await qmp.execute('migrate', { uri: `unix:${sock}` });

  await until(
    'the migration to finish',
    async () => {
      const s = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };

      if (s.status === 'failed') throw new Error(`migration failed: ${s['error-desc'] ?? 'no reason given'}`);
      return s.status === 'completed' ? true : undefined;
      // QMP takes QEMU's big lock, which the migration thread needs too: polled every 5 ms it crawled.
    },
    100,
  );
  await done;
}

/** Boots once with the agent's debug lines, waits for "agent ready", stops and saves it. */
async function makeTemplate(file: string): Promise<{ ms: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-snap-tpl-'));
  const paths = qemuPaths(dir);
  const q = startQemu(argv(dir, true));
  try {
    await until('the agent to reach its channel', () => {
      try {
        return /agent channel: virtio port/.test(readFileSync(paths.consoleLog, 'utf8')) ? true : undefined;
      } catch {
        return undefined;
      }
    });
    // The line is printed just before the HELLO write that blocks: give the guest that step.
    await sleep(200);

    const qmp = await Qmp.connect(paths.qmpSocket);

    try {
      // Not stopped first: the destination resumes in the source's run state, and an idle guest
      // converges at once; QEMU stops the source when the stream is complete.
      const t0 = Date.now();
      await migrateToFile(qmp, dir, file);
      return { ms: Date.now() - t0, bytes: statSync(file).size };
    } finally {
      qmp.close();
    }
  } finally {
    await stopQemu(q);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Restored: spawn with -incoming, feed the template, → HELLO. */
async function restoredStart(file: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-snap-restore-'));
  const sock = join(dir, 'mig-in.sock');
  // Same argv as the template's (the devices must match); the agent's debug flag is in the saved RAM.
  const q = startQemu([...argv(dir, true), '-incoming', `unix:${sock}`]);
  const t0 = Date.now();
  try {
    await until('the incoming migration socket', () => (existsSync(sock) ? true : undefined));
    const c = connect(sock);
    createReadStream(file).pipe(c);
    await firstAgentBytes(qemuPaths(dir).agentSocket, q);
    return Date.now() - t0;
  } finally {
    await stopQemu(q);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Does QEMU refuse to migrate a VM with a vhost-user-fs device (the container's virtiofs root)? */
async function virtiofsBlocker(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-snap-fs-'));
  const paths = qemuPaths(dir);
  const share = mkdtempSync(join(tmpdir(), 'runcvm-snap-share-'));
  const fsd = spawn(VIRTIOFSD_BINARY, [`--socket-path=${paths.fsSocket('root')}`, '-o', `source=${share}`], {
    stdio: 'ignore',
  });
  let q: ChildProcess | undefined;
  try {
    await until('virtiofsd', () => (existsSync(paths.fsSocket('root')) ? true : undefined));
    q = startQemu(argv(dir, false, share));
    await until('the QMP socket', () => (existsSync(paths.qmpSocket) ? true : undefined));

    const qmp = await Qmp.connect(paths.qmpSocket);

    try {
      await qmp.execute('stop');
      await migrateToFile(qmp, dir, join(dir, 'state'));
      return 'migrated (no blocker)';
    } catch (e) {
      return (e as Error).message;
    } finally {
      qmp.close();
    }
  } finally {
    if (q) await stopQemu(q);
    fsd.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(share, { recursive: true, force: true });
  }
}

export async function snapshotBench(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'runcvm-snap-'));
  const file = join(work, 'template.state');
  try {
    const tpl = await makeTemplate(file);
    const cold: number[] = [];
    const restored: number[] = [];
    for (let i = 0; i < N; i++) {
      cold.push(await coldStart());
      restored.push(await restoredStart(file));
      process.stderr.write(`snapshot round ${i + 1}/${N}: cold ${cold.at(-1)} ms, restored ${restored.at(-1)} ms\n`);
    }
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const mc = median(cold);
    const mr = median(restored);
    console.log(`VM start from a snapshot (prototype), ${N} interleaved rounds (load ${load})`);
    console.log(
      `  template: saved in ${tpl.ms} ms, ${(tpl.bytes / 1024 / 1024).toFixed(1)} MiB (512 MiB guest, ${DEFAULT_KERNEL} kernel)`,
    );
    console.log(`  cold boot, QEMU spawn → agent HELLO        median ${mc} ms`);
    console.log(
      `  restored, QEMU spawn → agent HELLO         median ${mr} ms   restored/cold ${(mr / mc).toFixed(2)}x`,
    );
    console.log(`  migrating a VM with vhost-user-fs (the virtiofs root): ${await virtiofsBlocker()}`);
  } finally {
    if (!process.env.BENCH_SNAPSHOT_KEEP) rmSync(work, { recursive: true, force: true });
    else process.stderr.write(`kept ${work}\n`);
  }
}
