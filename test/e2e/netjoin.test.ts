/**
 * `docker run --network container:X` with a runcvm X (docs/networking.md, "Joining a runcvm
 * container"): the joiner runs inside X's VM as a container of its own, sharing X's guest network
 * namespace, loopback included. Traffic goes only to the guests' loopback.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_DATA_PLANE } from '../../src/contracts/kinds.ts';
import { BUSYBOX, docker, hypervisorArgs, inspect, RUNTIME, runRunc, runVm, uniqueName, until } from './docker.ts';

const x = uniqueName('njx');
const cleanup: string[] = [x];
const GET = 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1';
/** busybox httpd on the guest's loopback only: reachable from X's network namespace and nowhere else. */
const serve = (port: number, text: string) =>
  `mkdir -p /srv && echo ${text} > /srv/index.html && httpd -p 127.0.0.1:${port} -h /srv`;

async function detached(name: string, args: string[]): Promise<void> {
  cleanup.push(name);
  const r = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, ...hypervisorArgs(), ...args]);
  assert.equal(r.code, 0, r.stderr);
}

/** The data plane X runs on: the suite's (RUNCVM_E2E_DATA_PLANE) or the default. */
const PLANE = process.env.RUNCVM_E2E_DATA_PLANE || DEFAULT_DATA_PLANE;

/** The commands of a container's host processes (`docker top`, its cgroup): who serves its pod socket. */
async function hostCommands(name: string): Promise<string[]> {
  const r = await docker(['top', name, '-eo', 'pid,comm']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[1] ?? '')
    .filter(Boolean);
}

/** The id of X's running kernel: the same in every container of its VM, new at every boot. */
async function bootId(name: string): Promise<string> {
  return (await docker(['exec', name, 'cat', '/proc/sys/kernel/random/boot_id'])).stdout.trim();
}

async function xAnswers(port: number): Promise<string | undefined> {
  const r = await docker(['exec', x, 'sh', '-c', `${GET} ${port}`]);
  return r.stdout.includes('200 OK') ? r.stdout : undefined;
}

before(async () => {
  // shareable: Docker itself refuses --ipc container:X otherwise, and the refusal tested below is runcvm's.
  await detached(x, ['--ipc', 'shareable', BUSYBOX, 'sh', '-c', `${serve(8080, 'hello-from-x')}; exec sleep 100000`]);
  await until('X serves on 127.0.0.1:8080', () => xAnswers(8080));
});

after(async () => {
  await docker(['rm', '-f', ...cleanup]);
});

describe('a runcvm container joining a runcvm container X runs in X VM', () => {
  test("reaches X's 127.0.0.1 service, in X's kernel, with its own processes and exit status", async () => {
    const r = await runVm([
      '--network',
      `container:${x}`,
      BUSYBOX,
      'sh',
      '-c',
      `${GET} 8080 | tail -1; cat /proc/sys/kernel/random/boot_id; ps -o args; exit 7`,
    ]);
    assert.equal(r.code, 7, r.stderr);
    const [reply, boot] = r.stdout.split('\n');
    assert.equal(reply, 'hello-from-x');
    assert.equal(boot, await bootId(x), 'the joiner runs in the same guest kernel as X');
    // The joiner's client went through X's data plane: on the supervisor, no Node process in X.
    const procs = await hostCommands(x);
    if (PLANE === 'supervisor') {
      assert.ok(
        procs.some((c) => c.startsWith('runcvm-supervis')),
        `X has no runcvm-supervisor: ${procs.join(' ')}`,
      );
      assert.ok(!procs.includes('node'), `a Node process runs in X: ${procs.join(' ')}`);
    } else assert.ok(procs.includes('node'), `X has no Node launcher: ${procs.join(' ')}`);
    assert.doesNotMatch(r.stdout, /httpd|sleep 100000/, "X's processes are not in the joiner's PID namespace");
  });

  test("-t: the joiner's terminal and an exec -t's are its own devpts, as under runc (tty names them)", async () => {
    const r = await runVm(['-t', '--network', `container:${x}`, BUSYBOX, 'tty']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^\/dev\/pts\/\d+\r?\n/);
    const j = uniqueName('njtty');
    await detached(j, ['--network', `container:${x}`, BUSYBOX, 'sleep', '100000']);
    const e = await docker(['exec', '-t', j, 'tty']);
    assert.equal(e.code, 0, `${e.stdout}${e.stderr}`);
    assert.match(e.stdout, /^\/dev\/pts\/\d+\r?\n/);
    await docker(['rm', '-f', j]);
  });

  test("--cpu-shares is the joiner's cpu.weight in X's guest; docker update changes its guest cgroup, not its client's host memory limit", async () => {
    const j = uniqueName('njupd');
    await detached(j, ['--network', `container:${x}`, '--cpu-shares', '512', BUSYBOX, 'sleep', '100000']);
    const cat = ['exec', j, 'cat', '/sys/fs/cgroup/cpu.weight', '/sys/fs/cgroup/cpu.max', '/sys/fs/cgroup/memory.max'];
    const before = await until('the joiner runs', async () => {
      const r = await docker(cat);
      return r.code === 0 ? r.stdout : undefined;
    });
    assert.deepEqual(before.trim().split('\n'), ['20', 'max 100000', 'max']);
    const id = (await inspect(j, '{{.Id}}')).trim();
    const hostLimit = [
      `/sys/fs/cgroup/memory/docker/${id}/memory.limit_in_bytes`,
      `/sys/fs/cgroup/docker/${id}/memory.max`,
    ].find((f) => existsSync(f));
    const hostBefore = hostLimit && readFileSync(hostLimit, 'utf8');
    const u = await docker([
      'update',
      '--memory',
      '64m',
      '--memory-swap',
      '64m',
      '--cpus',
      '0.5',
      '--cpu-shares',
      '1024',
      j,
    ]);
    assert.equal(u.code, 0, u.stderr);
    const after = await docker(cat);
    assert.deepEqual(after.stdout.trim().split('\n'), ['39', '50000 100000', String(64 * 1024 * 1024)]);
    if (hostLimit) assert.equal(readFileSync(hostLimit, 'utf8'), hostBefore, "the client's host memory limit changed");
    await docker(['rm', '-f', j]);
  });

  test('--read-only and volumes keep their flags in X guest: the root and a :ro volume refuse writes, a rw volume takes them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-njvol-'));
    try {
      writeFileSync(join(dir, 'f'), 'from-host\n');
      const r = await runVm([
        '--network',
        `container:${x}`,
        '--read-only',
        '-v',
        `${dir}:/ro:ro`,
        '-v',
        `${dir}:/rw`,
        BUSYBOX,
        'sh',
        '-c',
        'cat /ro/f; touch /root-w 2>/dev/null && echo root-writable; touch /ro/w 2>/dev/null && echo ro-writable; echo from-guest > /rw/g',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from-host\n');
      assert.equal(readFileSync(join(dir, 'g'), 'utf8'), 'from-guest\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--pid container:X shares X processes', async () => {
    const r = await runVm(['--network', `container:${x}`, '--pid', `container:${x}`, BUSYBOX, 'ps', '-o', 'args']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sleep 100000/);
  });

  test('X reaches the joiner 127.0.0.1 service; exec, logs and memory limit are the joiner own; stop leaves X running', async () => {
    const j = uniqueName('njj');
    await detached(j, [
      '--network',
      `container:${x}`,
      '-m',
      '96m',
      BUSYBOX,
      'sh',
      '-c',
      `${serve(9090, 'hello-from-joiner')}; echo joiner-ready; exec sleep 100000`,
    ]);
    const reply = await until('X reaches the joiner on 127.0.0.1:9090', () => xAnswers(9090), 60_000);
    assert.match(reply, /hello-from-joiner/);
    const e = await docker(['exec', j, 'sh', '-c', 'cat /sys/fs/cgroup/memory.max; ps -o args; exit 3']);
    assert.equal(e.code, 3, e.stderr);
    assert.match(e.stdout, /^100663296\n/);
    assert.doesNotMatch(e.stdout, /hello-from-x|-p 127\.0\.0\.1:8080/);
    assert.match((await docker(['logs', j])).stdout, /joiner-ready/);
    const stop = await docker(['stop', '-t', '1', j]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await inspect(j, '{{.State.Running}}'), 'false');
    assert.equal(await inspect(x, '{{.State.Running}}'), 'true');
    assert.ok(await xAnswers(8080), 'X still serves after the joiner stopped');
    assert.equal(await xAnswers(9090), undefined, "the joiner's server went with it");
    const jid = await inspect(j, '{{.Id}}');
    const rm = await docker(['rm', j]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(existsSync(`/run/runcvm/pod/${jid}`), false, "the joiner's delete marker is gone");
    assert.equal(
      existsSync(`/run/runcvm/join/${await inspect(x, '{{.Id}}')}/root/${jid}`),
      false,
      "the joiner's root is unmounted",
    );
  });

  test('refused with the option named: --ipc container:X, --pid host, --tmpfs, --pid container:X alone', async () => {
    const cases: [string[], RegExp][] = [
      [['--network', `container:${x}`, '--ipc', `container:${x}`], /--ipc container: not supported/],
      [['--network', `container:${x}`, '--pid', 'host'], /--pid host: /],
      [['--network', `container:${x}`, '--tmpfs', '/scratch'], /--tmpfs \/scratch: not supported/],
      [['--pid', `container:${x}`], /--pid container:[0-9a-f]{12}: .*--network container:/],
    ];
    for (const [opts, re] of cases) {
      const r = await runVm([...opts, BUSYBOX, 'true']);
      assert.notEqual(r.code, 0, `${opts.join(' ')} ran`);
      assert.match(r.stderr, re);
    }
  });

  test('a runcvm X whose VM cannot take containers (RUNCVM_ROOTFS=image) is refused by name', async () => {
    const img = uniqueName('njimg');
    await detached(img, ['-e', 'RUNCVM_ROOTFS=image', BUSYBOX, 'sleep', '100000']);
    const r = await runVm(['--network', `container:${img}`, BUSYBOX, 'true']);
    assert.notEqual(r.code, 0, 'joined a VM with an image root');
    assert.match(r.stderr, /--network container:[0-9a-f]{12}: .*cannot take other containers/);
  });

  test("a runc container joining X gets X's host network namespace, not the guest's: X's 127.0.0.1 is not there", async () => {
    const r = await runRunc(['--network', `container:${x}`, BUSYBOX, 'sh', '-c', `${GET} 8080`]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /hello-from-x/);
  });

  // Last: it stops X.
  test('X stopped while a joiner runs: the joiner ends at once with status 1 and says why', async () => {
    const j = uniqueName('njlost');
    await detached(j, ['--network', `container:${x}`, BUSYBOX, 'sh', '-c', 'echo up; exec sleep 100000']);
    await until('the joiner runs', async () => ((await docker(['logs', j])).stdout.includes('up') ? true : undefined));
    const stop = await docker(['stop', '-t', '1', x]);
    assert.equal(stop.code, 0, stop.stderr);
    await until(
      'the joiner ends',
      async () => ((await inspect(j, '{{.State.Running}}')) === 'false' ? true : undefined),
      30_000,
    );
    assert.equal(await inspect(j, '{{.State.ExitCode}}'), '1');
    assert.match((await docker(['logs', j])).stderr, /container [0-9a-f]{12} stopped: this container ran in its VM/);
  });
});

describe('a runcvm container joining a runc container', () => {
  test("keeps a VM of its own, in the runc container's network namespace (user-mode network)", async () => {
    const r = uniqueName('njrunc');
    cleanup.push(r);
    const started = await docker(['run', '-d', '--name', r, '--runtime=runc', BUSYBOX, 'sleep', '100000']);
    assert.equal(started.code, 0, started.stderr);
    const j = await runVm(['--network', `container:${r}`, BUSYBOX, 'sh', '-c', 'uname -r; ip -o -4 addr show eth0']);
    assert.equal(j.code, 0, j.stderr);
    assert.notEqual(j.stdout.split('\n')[0], release(), 'a guest kernel, not the host one');
    assert.match(j.stdout, /10\.0\.2\.15/);
  });
});
