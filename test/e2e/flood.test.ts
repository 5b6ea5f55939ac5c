/**
 * Flood tests (docs/agent-protocol.md, Flow control): a guest that produces more than its
 * readers take, or floods DNS, slows itself and never grows the host. Memory and descriptors are
 * measured on THIS container's data-plane process only (the child of the container's PID 1,
 * runcvm-init): runcvm-supervisor on the default data plane, the Node launcher with
 * RUNCVM_E2E_DATA_PLANE=node. Bounds asserted: its RSS grows by less than RSS_GROWTH_MAX over its
 * idle value while a reader is stopped or the log is not followed (the protocol bound is one
 * 1 MiB window per stream; the supervisor adds at most a 1 MiB frame buffer per exec client and
 * 1 MiB towards the guest, Node adds V8 heap churn); open descriptors grow by at most the DNS cap
 * (64) + 32 (exec connections, the net-sync step's pipe or the Node launcher's `ip`/`iptables` polls).
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_DATA_PLANE } from '../../src/contracts/kinds.ts';
import { BUSYBOX, docker, hypervisorArgs, inspect, RUNTIME, run, uniqueName, until } from './docker.ts';

const SUPERVISOR = (process.env.RUNCVM_E2E_DATA_PLANE || DEFAULT_DATA_PLANE) === 'supervisor';
/** The supervisor's bounds (docs/architecture.md, "Bounds") with room for one exec client's buffer; Node's with its heap. */
const RSS_GROWTH_MAX_KIB = (SUPERVISOR ? 8 : 32) * 1024;
const DNS_CAP = 64;
const FD_SLACK = 32;

const net = uniqueName('flood-net');
const vm = uniqueName('flood-vm');
const neighbour = uniqueName('flood-neighbour');
const logger = uniqueName('flood-logs');

function childComms(pid: number): string[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map((c) => {
    try {
      return readFileSync(`/proc/${c}/comm`, 'utf8').trim();
    } catch {
      return ''; // gone since
    }
  });
}

function launcherOf(name: string): Promise<number> {
  return until(`the launcher of ${name}`, async () => {
    const init = await inspect(name, '{{.State.Pid}}');
    if (!init || init === '0') return undefined;
    const children = readFileSync(`/proc/${init}/task/${init}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    const pid = children.map(Number).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('launcher'));
    // Once started, the data plane is the supervisor itself: the Node launcher under it has gone.
    return pid !== undefined && !(SUPERVISOR && childComms(pid).includes('node')) ? pid : undefined;
  });
}

function rssKib(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Samples `probe` every 250 ms while `work` runs; returns the work's result and the largest sample. */
async function peakDuring<T>(probe: () => number, work: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = probe();
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, probe());
      await sleep(250);
    }
  })();
  try {
    return { result: await work, peak };
  } finally {
    running = false;
    await sampler;
  }
}

function sh(script: string, timeoutMs = 300_000) {
  return run('sh', ['-c', script], { timeoutMs });
}

before(async () => {
  assert.equal((await docker(['network', 'create', net])).code, 0);
  for (const name of [vm, neighbour]) {
    const r = await docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      net,
      `--runtime=${RUNTIME}`,
      ...hypervisorArgs(),
      BUSYBOX,
      'sleep',
      '3600',
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const name of [vm, neighbour]) {
    await until(
      `${name} to run exec`,
      async () => ((await docker(['exec', name, 'true'])).code === 0 ? true : undefined),
      300_000,
      1000,
    );
  }
});

after(async () => {
  await docker(['rm', '-f', vm, neighbour, logger]);
  await docker(['network', 'rm', net]);
});

test('the data plane of a started container is the one asked for', async () => {
  const pid = await launcherOf(vm);
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  assert.equal(comm, SUPERVISOR ? 'runcvm-supervis' : 'node');
});

test('a stopped exec reader pauses the guest process; the launcher stays bounded and everything else flows', async () => {
  const launcher = await launcherOf(vm);
  const idle = rssKib(launcher);
  const stopped = sh(`docker exec ${vm} yes | sleep 25`);
  const { peak } = await peakDuring(
    () => rssKib(launcher),
    (async () => {
      await sleep(8000);
      // Other execs of this container and other containers are not held up by the stopped stream.
      const [mine, other] = await Promise.all([
        docker(['exec', vm, 'echo', 'mine']),
        docker(['exec', neighbour, 'echo', 'other']),
      ]);
      assert.deepEqual([mine.stdout, other.stdout], ['mine\n', 'other\n']);
      return stopped;
    })(),
  );
  assert.ok(peak - idle < RSS_GROWTH_MAX_KIB, `launcher RSS grew from ${idle} to ${peak} KiB with a stopped reader`);
  console.log(`stopped reader: launcher RSS ${idle} KiB idle, ${peak} KiB peak`);
});

test('yes | head -c 1 ends: the reader going away ends the exec', async () => {
  const r = await sh(`docker exec ${vm} yes | head -c 1`, 120_000);
  assert.equal(r.stdout, 'y');
});

test('output through a reader that waits first arrives complete and in order', async () => {
  const launcher = await launcherOf(vm);
  const idle = rssKib(launcher);
  const expected = (await sh('seq 1 200000 | md5sum')).stdout;
  const { result, peak } = await peakDuring(
    () => rssKib(launcher),
    sh(`docker exec ${vm} seq 1 200000 | (sleep 10; md5sum)`),
  );
  assert.equal(result.stdout, expected);
  assert.ok(peak - idle < RSS_GROWTH_MAX_KIB, `launcher RSS grew from ${idle} to ${peak} KiB`);
});

test('a guest flooding DNS holds at most the cap of host sockets, and DNS works afterwards', async () => {
  const launcher = await launcherOf(vm);
  const idle = fds(launcher);
  // 400 concurrent lookups of names Docker's DNS cannot answer locally: they wait upstream.
  const flood = docker(
    [
      'exec',
      vm,
      'sh',
      '-c',
      'for i in $(seq 1 400); do nslookup -timeout=3 flood$i.invalid 127.0.0.11 >/dev/null 2>&1 & done; wait; echo flooded',
    ],
    { timeoutMs: 300_000 },
  );
  const { result, peak } = await peakDuring(() => fds(launcher), flood);
  assert.equal(result.stdout, 'flooded\n', result.stderr);
  assert.ok(peak - idle <= DNS_CAP + FD_SLACK, `launcher descriptors went from ${idle} to ${peak}`);
  console.log(`DNS flood: launcher descriptors ${idle} idle, ${peak} peak`);
  const lookup = await until(
    'DNS to answer after the flood',
    async () => {
      const r = await docker(['exec', vm, 'nslookup', neighbour, '127.0.0.11']);
      return r.code === 0 ? r.stdout : undefined;
    },
    60_000,
    1000,
  );
  assert.match(lookup, new RegExp(`Name:\\s+${neighbour}`));
});

test('a guest writing 64 MiB to stdout while docker logs is not followed: the launcher stays bounded', async () => {
  const line = 'x'.repeat(999);
  // The writer waits for /tmp/go so that the launcher's idle size is measured after boot.
  const r = await docker([
    'run',
    '-d',
    '--name',
    logger,
    '--log-opt',
    'max-size=4m',
    '--log-opt',
    'max-file=1',
    `--runtime=${RUNTIME}`,
    ...hypervisorArgs(),
    BUSYBOX,
    'sh',
    '-c',
    `while [ ! -e /tmp/go ]; do sleep 1; done; yes ${line} | head -c 67108864; echo done-writing`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  await until(
    `${logger} to run exec`,
    async () => ((await docker(['exec', logger, 'true'])).code === 0 ? true : undefined),
    300_000,
    1000,
  );
  const launcher = await launcherOf(logger);
  const idle = rssKib(launcher);
  assert.equal((await docker(['exec', logger, 'touch', '/tmp/go'])).code, 0);
  let peak = idle;
  await until(
    'the writer to finish',
    async () => {
      try {
        peak = Math.max(peak, rssKib(launcher));
      } catch {
        // the launcher has exited
      }
      return (await inspect(logger, '{{.State.Running}}')) === 'false' ? true : undefined;
    },
    900_000,
    250,
  );
  assert.equal(await inspect(logger, '{{.State.ExitCode}}'), '0');
  // head -c cuts the last line short, so the marker follows a partial line: all output arrived.
  const tail = await docker(['logs', '--tail', '1', logger]);
  assert.match(tail.stdout, /x{100}done-writing\n$/);
  assert.ok(peak - idle < RSS_GROWTH_MAX_KIB, `launcher RSS grew from ${idle} to ${peak} KiB`);
  console.log(`64 MiB to an unfollowed log: launcher RSS ${idle} KiB idle, ${peak} KiB peak`);
});
