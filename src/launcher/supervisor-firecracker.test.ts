/**
 * runcvm-supervisor (./supervisor) with a Firecracker VM, end to end but for Firecracker itself:
 * the real supervisor binary runs a stand-in launcher (testdata/supervised-launcher.ts: the real
 * driver and the real handOverToSupervisor), which starts the contract-checking stand-in
 * Firecracker (src/vmm/firecracker/testdata/fake-firecracker.ts) and exits; the
 * supervisor then reaches the stand-in agent through the vsock socket's CONNECT/OK handshake
 * (refused once, as while a guest boots), starts the workload, relays its exit status, and powers
 * the VM off: SHUTDOWN, else SendCtrlAltDel on the API socket (checked against the v1.16.1
 * contract), else SIGKILL. Runs as root in a mount namespace of its own (a tmpfs on /run, where
 * the supervisor keeps its state as in a container); elsewhere it is skipped with the reason.
 * Not evidence that Firecracker boots the guest: test/e2e/firecracker.test.ts is.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MsgType } from '../agent-protocol/frame.ts';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const FIXTURE = here('../vmm/firecracker/testdata/fake-firecracker.ts');
const LAUNCHER = here('./testdata/supervised-launcher.ts');
const SUPERVISOR_SRC = here('./supervisor');
const TSX = import.meta.resolve('tsx');

function whyNot(): string | false {
  if (process.getuid?.() !== 0) return 'SKIPPED: needs root (a mount namespace with a tmpfs on /run)';
  const u = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (u.status !== 0) return `SKIPPED: unshare -m does not work here: ${u.error?.message ?? u.stderr}`;
  if (spawnSync('musl-gcc', ['--version']).status !== 0)
    return 'SKIPPED: musl-gcc is missing (scripts/install-deps.sh)';
  return false;
}
const skip = whyNot();

interface Run {
  code: number | null;
  stderr: string;
  ms: number;
  log: {
    method?: string;
    path?: string;
    body?: unknown;
    problems?: string[];
    vsock?: string;
    frame?: number;
    exit?: string;
  }[];
}

function setUp(): { dir: string; supervisor: string; binary: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-fc-sup-'));
  const supervisor = join(dir, 'runcvm-supervisor');
  const make = spawnSync('make', ['-s', '-C', SUPERVISOR_SRC, `OUT=${dir}`, supervisor], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  const binary = join(dir, 'firecracker');
  writeFileSync(binary, `#!/bin/sh\nexec '${process.execPath}' --import '${TSX}' '${FIXTURE}' "$@"\n`);
  chmodSync(binary, 0o755);
  return { dir, supervisor, binary };
}

/** The supervisor with the stand-in launcher, in a mount namespace whose /run is a fresh tmpfs. */
function supervise(t: { dir: string; supervisor: string; binary: string }, name: string, env: Record<string, string>) {
  const logFile = join(t.dir, `${name}.jsonl`);
  const script = 'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 700 /run/runcvm && exec "$0" "$@"';
  const start = Date.now();
  const child = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, t.supervisor, process.execPath, '--import', TSX, LAUNCHER],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FAKE_FC_BINARY: t.binary, FAKE_FC_LOG: logFile, FAKE_FC_EXIT: '7', ...env },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.resume();
  return new Promise<Run>((resolve) => {
    child.on('exit', (code) => {
      let log: Run['log'] = [];
      try {
        log = readFileSync(logFile, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
      } catch {
        // No log: the stand-in never started; the assertions say so.
      }
      resolve({ code, stderr, ms: Date.now() - start, log });
    });
  });
}

const CAD = { action_type: 'SendCtrlAltDel' };

test('the supervisor takes a Firecracker VM over: vsock handshake, the workload, its exit status, SHUTDOWN', {
  skip,
}, async () => {
  const t = setUp();
  try {
    const r = await supervise(t, 'clean', {});
    assert.equal(r.code, 7, r.stderr);
    assert.deepEqual(
      r.log.filter((e) => e.vsock).map((e) => e.vsock),
      ['CONNECT 1024', 'CONNECT 1024'],
      'the handshake was retried after the not-yet-listening refusal',
    );
    // The supervisor's side of the agent protocol, in order (STDIN's end of input may come anywhere).
    const steps: number[] = [MsgType.HELLO, MsgType.CONFIG, MsgType.START, MsgType.SHUTDOWN];
    assert.deepEqual(
      r.log.map((e) => e.frame).filter((f) => f !== undefined && steps.includes(f)),
      steps,
    );
    assert.ok(!r.log.some((e) => JSON.stringify(e.body) === JSON.stringify(CAD)), 'no SendCtrlAltDel was needed');
    for (const e of r.log.filter((x) => x.method)) assert.deepEqual(e.problems, [], `${e.method} ${e.path}`);
    assert.deepEqual(
      r.log.filter((e) => e.exit).map((e) => e.exit),
      ['SHUTDOWN'],
      'the VM ended on SHUTDOWN',
    );
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('the guest console Firecracker prints while the supervisor waits for the agent is read meanwhile', {
  skip,
}, async () => {
  const t = setUp();
  try {
    // 1 MiB, 16 pipe buffers: written with blocking writes before the stand-in agent listens.
    const r = await supervise(t, 'console', { FAKE_FC_CONSOLE_BYTES: String(1 << 20) });
    assert.equal(r.code, 7, r.stderr);
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});

test('a guest that ignores SHUTDOWN gets SendCtrlAltDel on the API socket (within the contract), then SIGKILL', {
  skip,
}, async () => {
  const t = setUp();
  try {
    const [cad, kill] = await Promise.all([
      supervise(t, 'cad', { FAKE_FC_IGNORE_SHUTDOWN: '1' }),
      supervise(t, 'kill', { FAKE_FC_IGNORE_SHUTDOWN: '1', FAKE_FC_IGNORE_CAD: '1' }),
    ]);
    for (const r of [cad, kill]) {
      assert.equal(r.code, 7, r.stderr);
      const asked = r.log.filter((e) => e.path === '/actions' && JSON.stringify(e.body) === JSON.stringify(CAD));
      assert.equal(asked.length, 1, 'one SendCtrlAltDel');
      assert.deepEqual(asked[0]?.problems, [], 'the C request keeps the v1.16.1 contract');
    }
    // After POWEROFF_TIMEOUT_MS (10 s) the stand-in ends on Ctrl-Alt-Del; when it ignores that too,
    // SIGKILL ends it 3 s later (it says nothing then). Only lower bounds: a loaded host is slower.
    assert.deepEqual(
      cad.log.filter((e) => e.exit).map((e) => e.exit),
      ['SendCtrlAltDel'],
    );
    assert.deepEqual(
      kill.log.filter((e) => e.exit),
      [],
      'SIGKILLed',
    );
    assert.ok(cad.ms >= 10_000, `SendCtrlAltDel came after the power-off budget (${cad.ms} ms)`);
    assert.ok(kill.ms >= 13_000, `SIGKILL came after the Ctrl-Alt-Del grace (${kill.ms} ms)`);
  } finally {
    rmSync(t.dir, { recursive: true, force: true });
  }
});
