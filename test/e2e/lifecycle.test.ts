/**
 * The container lifecycle with runcvm behaves as with runc: interactive console and attach,
 * logs, stop/kill signalling, rm -f at any moment, restart policies, top/stats, pause, and
 * nothing left behind afterwards.
 */

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX, docker, hostConfig, inspect, leftovers, RUNTIME, run, runVm, uniqueName, until } from './docker.ts';
import { Terminal } from './terminal.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function withContainer(tag: string, args: string[], body: (name: string) => Promise<void>): Promise<void> {
  const name = uniqueName(tag);
  try {
    const r = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, ...args]);
    assert.equal(r.code, 0, r.stderr);
    await body(name);
  } finally {
    await docker(['rm', '-f', name]);
  }
}

/** Waits until the workload is running in the guest (exec answers). */
async function booted(name: string): Promise<void> {
  const r = await docker(['exec', name, 'true']);
  assert.equal(r.code, 0, r.stderr);
}

/**
 * The workload's shell has run its `trap` (it prints "trapped" right after): the workload is PID 1
 * of its PID namespace, so a signal it has no handler for yet is ignored, with runc as here, and
 * `docker exec` answering only says the VM is up.
 */
async function trapped(name: string): Promise<void> {
  await until(`${name} to install its trap`, async () =>
    (await docker(['logs', name])).stdout.startsWith('trapped\n') ? true : undefined,
  );
}

/** docker logs stdout once it equals `want` (the workload may still be writing when exec answers). */
async function logsBecome(name: string, want: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = (await docker(['logs', name])).stdout.replace(/ /g, '');
    if (out === want || Date.now() > deadline) return out;
    await sleep(200);
  }
}

async function waitState(name: string, want: RegExp, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await inspect(name, '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}');
    if (want.test(s)) return s;
    if (Date.now() > deadline) throw new Error(`${name}: state "${s}" never matched ${want}`);
    await sleep(200);
  }
}

describe('interactive console', () => {
  test('run -it, detach with Ctrl-P Ctrl-Q, attach again, exit status; start -ai', async () => {
    const name = uniqueName('it');
    const t = Terminal.open(`docker run -it --name ${name} --runtime=${RUNTIME} ${BUSYBOX} sh`);
    try {
      await t.waitFor(/\/ #/);
      t.line('echo "pid=$$ $(tty)"');
      await t.waitFor(/pid=1 \/dev\/pts\/0/);
      t.type('C-p', 'C-q');
      await t.waitFor(/\[exit=0\]/);
      assert.equal(await inspect(name, '{{.State.Status}}'), 'running');
      const a = Terminal.open(`docker attach ${name}`);
      try {
        a.line('echo reattached');
        await a.waitFor(/^reattached$/m);
        a.line('exit 9');
        await a.waitFor(/\[exit=9\]/);
      } finally {
        a.close();
      }
      assert.equal(await inspect(name, '{{.State.ExitCode}}'), '9');
      const s = Terminal.open(`docker start -ai ${name}`);
      try {
        await s.waitFor(/\/ #/);
        s.line('exit 4');
        await s.waitFor(/\[exit=4\]/);
      } finally {
        s.close();
      }
    } finally {
      t.close();
      await docker(['rm', '-f', name]);
    }
  });
});

describe('logs and data', () => {
  test('docker logs keeps stdout and stderr apart and in order, and -f follows', async () => {
    await withContainer(
      'logs',
      [BUSYBOX, 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 600'],
      async (name) => {
        await booted(name);
        assert.equal(await logsBecome(name, 'out1\nout2\nout3\n'), 'out1\nout2\nout3\n');
        const l = await docker(['logs', name]);
        assert.equal(l.stderr, 'err1\nerr2\nerr3\n');
        const f = docker(['logs', '-f', '--tail', '0', name], { timeoutMs: 60_000 });
        await sleep(500);
        await docker(['exec', name, 'sh', '-c', 'echo later > /proc/1/fd/1']);
        await sleep(1000);
        await docker(['kill', name]);
        assert.equal((await f).stdout, 'later\n');
      },
    );
  });

  test('20 MiB of random bytes pass intact through docker run and docker exec, both directions', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const viaRun = await runVm(['-i', BUSYBOX, 'sha256sum'], { input: data });
    assert.equal(viaRun.code, 0);
    assert.equal(viaRun.stdout.split(' ')[0], sha256(data));
    await withContainer('bytes', [BUSYBOX, 'sleep', '600'], async (name) => {
      const into = await docker(['exec', '-i', name, 'sh', '-c', 'cat > /tmp/blob; sha256sum /tmp/blob'], {
        input: data,
      });
      assert.equal(into.stdout.split(' ')[0], sha256(data));
      const out = await run('sh', ['-c', `docker exec ${name} cat /tmp/blob | sha256sum`]);
      assert.equal(out.stdout.split(' ')[0], sha256(data));
      const gen = await run('sh', [
        '-c',
        `docker exec ${name} sh -c 'head -c 20971520 /dev/urandom | tee /tmp/gen' | sha256sum; docker exec ${name} sha256sum /tmp/gen`,
      ]);
      const [received, inGuest] = gen.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]);
      assert.equal(received, inGuest);
    });
    const gen = await run('sh', [
      '-c',
      `docker run --rm --runtime=${RUNTIME} ${BUSYBOX} sh -c 'head -c 20971520 /dev/urandom | tee /tmp/g; sha256sum /tmp/g >&2' 2>/tmp/runcvm-e2e-sum | sha256sum; cat /tmp/runcvm-e2e-sum`,
    ]);
    const [received, inGuest] = gen.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    assert.equal(received, inGuest);
  });
});

describe('stop and kill', () => {
  test('a workload that traps SIGTERM exits with its own code on docker stop', async () => {
    await withContainer(
      'trap',
      [BUSYBOX, 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo trapped; while true; do sleep 0.1; done'],
      async (name) => {
        await trapped(name);
        const r = await docker(['stop', name]);
        assert.equal(r.code, 0);
        assert.equal(await inspect(name, '{{.State.ExitCode}}'), '7');
        assert.equal((await docker(['logs', name])).stdout, 'trapped\ngot-term\n');
      },
    );
  });

  test('a workload that ignores SIGTERM is killed after -t seconds (137)', async () => {
    await withContainer('ignore', [BUSYBOX, 'sleep', '600'], async (name) => {
      await booted(name);
      const t0 = Date.now();
      await docker(['stop', '-t', '2', name]);
      assert.ok(Date.now() - t0 >= 1900);
      assert.equal(await inspect(name, '{{.State.ExitCode}}'), '137');
    });
  });

  test('--stop-signal and the image STOPSIGNAL are what docker stop sends', async () => {
    await withContainer(
      'stopsig',
      [
        '--stop-signal',
        'USR1',
        BUSYBOX,
        'sh',
        '-c',
        'trap "exit 11" USR1; echo trapped; while true; do sleep 0.1; done',
      ],
      async (name) => {
        await trapped(name);
        await docker(['stop', name]);
        assert.equal(await inspect(name, '{{.State.ExitCode}}'), '11');
      },
    );
    const image = 'runcvm-test/stopsignal';
    const b = await docker(['build', '-q', '-t', image, '-'], { input: `FROM ${BUSYBOX}\nSTOPSIGNAL SIGUSR2\n` });
    assert.equal(b.code, 0, b.stderr);
    try {
      await withContainer(
        'imgstopsig',
        [image, 'sh', '-c', 'trap "exit 12" USR2; echo trapped; while true; do sleep 0.1; done'],
        async (name) => {
          await trapped(name);
          await docker(['stop', name]);
          assert.equal(await inspect(name, '{{.State.ExitCode}}'), '12');
        },
      );
    } finally {
      await docker(['rmi', '-f', image]);
    }
  });

  test('docker kill -s USR1 reaches the workload and it keeps running', async () => {
    await withContainer(
      'usr1',
      [BUSYBOX, 'sh', '-c', 'trap "echo usr1" USR1; echo trapped; while true; do sleep 0.1; done'],
      async (name) => {
        await trapped(name);
        await docker(['kill', '-s', 'USR1', name]);
        await sleep(1000);
        await docker(['kill', '-s', 'USR1', name]);
        await sleep(1000);
        assert.equal((await docker(['logs', name])).stdout, 'trapped\nusr1\nusr1\n');
        assert.equal(await inspect(name, '{{.State.Status}}'), 'running');
      },
    );
  });

  test('real-time signals reach the workload too (systemd stops on SIGRTMIN+3)', async () => {
    await withContainer(
      'rtsig',
      [BUSYBOX, 'sh', '-c', 'trap "echo got-rtmin3; exit 9" 37; echo trapped; while true; do sleep 0.1; done'],
      async (name) => {
        await trapped(name);
        await docker(['kill', '-s', '37', name]);
        assert.equal(await waitState(name, /^exited /, 60_000), 'exited 0 9');
        assert.equal((await docker(['logs', name])).stdout, 'trapped\ngot-rtmin3\n');
      },
    );
  });

  test('docker rm -f works at any moment, including during boot', async () => {
    for (const delayMs of [0, 300, 1000]) {
      const name = uniqueName(`rmf${delayMs}`);
      const r = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, BUSYBOX, 'sleep', '600']);
      assert.equal(r.code, 0, r.stderr);
      await sleep(delayMs);
      const rm = await docker(['rm', '-f', name]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    await sleep(500);
    assert.deepEqual(await leftovers(), []);
  });
});

describe('restart', () => {
  test('docker restart boots again from the same container filesystem', async () => {
    await withContainer(
      'restart',
      [BUSYBOX, 'sh', '-c', 'echo x >> /count; wc -l < /count; sleep 600'],
      async (name) => {
        await booted(name);
        await docker(['restart', '-t', '1', name]);
        await booted(name);
        assert.equal(await logsBecome(name, '1\n2\n'), '1\n2\n');
      },
    );
  });

  test('--restart on-failure:3, always and unless-stopped count restarts as runc does', async () => {
    const names: string[] = [];
    try {
      for (const runtime of [RUNTIME, 'runc']) {
        const name = uniqueName(`onfail-${runtime}`);
        names.push(name);
        await docker([
          'run',
          '-d',
          '--name',
          name,
          `--runtime=${runtime}`,
          '--restart=on-failure:3',
          BUSYBOX,
          'sh',
          '-c',
          'exit 1',
        ]);
      }
      const states = await Promise.all(names.map((n) => waitState(n, /^exited 3 1$/, 180_000)));
      assert.deepEqual(states, ['exited 3 1', 'exited 3 1']);
      for (const policy of ['always', 'unless-stopped']) {
        const name = uniqueName(policy);
        names.push(name);
        await docker([
          'run',
          '-d',
          '--name',
          name,
          `--runtime=${RUNTIME}`,
          `--restart=${policy}`,
          BUSYBOX,
          'sh',
          '-c',
          'exit 0',
        ]);
        await waitState(name, /^\w+ [2-9]\d* /, 180_000);
        await docker(['stop', '-t', '1', name]);
        const count = await inspect(name, '{{.RestartCount}}');
        await sleep(3000);
        assert.equal(await inspect(name, '{{.State.Status}} {{.RestartCount}}'), `exited ${count}`);
      }
    } finally {
      await docker(['rm', '-f', ...names]);
    }
  });
});

describe('observing the container', () => {
  test('docker top lists the launcher and the VMM (under TCG without transparent huge pages); docker stats reports memory; pause freezes the VM', async () => {
    await withContainer('top', [BUSYBOX, 'sleep', '600'], async (name) => {
      await booted(name);
      const top = await docker(['top', name]);
      assert.match(top.stdout, /runcvm\.mjs launcher/);
      assert.match(top.stdout, /qemu-system-x86_64/);
      // runcvm-init turns them off under TCG, for QEMU's translation cache (docs/performance.md).
      const pids = await docker(['top', name, '-eo', 'pid,comm']);
      const qemu = pids.stdout.split('\n').find((l) => /\bqemu-system-x86/.test(l));
      assert.ok(qemu, pids.stdout);
      const status = readFileSync(`/proc/${qemu.trim().split(/\s+/)[0]}/status`, 'utf8');
      assert.equal(/^THP_enabled:\s+(\d)$/m.exec(status)?.[1], hostConfig().kvm.usable ? '1' : '0');
      const stats = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
      assert.match(stats.stdout, /^\d+(\.\d+)?MiB \//);
      assert.equal((await docker(['pause', name])).code, 0);
      assert.equal(await inspect(name, '{{.State.Status}}'), 'paused');
      const frozen = await docker(['exec', name, 'true'], { timeoutMs: 60_000 });
      assert.notEqual(frozen.code, 0, 'exec into a paused container is refused');
      assert.equal((await docker(['unpause', name])).code, 0);
      const r = await docker(['exec', name, 'echo', 'thawed']);
      assert.equal(r.stdout, 'thawed\n');
    });
  });

  test('HEALTHCHECK runs in the guest: unhealthy until the workload makes it pass, then healthy', async () => {
    await withContainer(
      'health',
      [
        '--health-cmd',
        'test -f /tmp/ready',
        '--health-interval',
        '1s',
        '--health-retries',
        '1',
        BUSYBOX,
        'sh',
        '-c',
        'sleep 600',
      ],
      async (name) => {
        await booted(name);
        const status = () => inspect(name, '{{.State.Health.Status}}');
        const reach = async (want: string) => {
          for (let i = 0; i < 120 && (await status()) !== want; i++) await sleep(500);
          assert.equal(await status(), want);
        };
        await reach('unhealthy');
        assert.equal((await docker(['exec', name, 'touch', '/tmp/ready'])).code, 0);
        await reach('healthy');
      },
    );
  });
});

describe('nothing leaks', () => {
  test('50 run/stop/rm cycles leave no process, mount or container state behind', async () => {
    const ids: string[] = [];
    const merged: string[] = [];
    for (let i = 0; i < 50; i += 2) {
      await Promise.all(
        [i, i + 1].map(async (j) => {
          const name = uniqueName(`cycle${j}`);
          const r = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, BUSYBOX, 'sleep', '600']);
          assert.equal(r.code, 0, r.stderr);
          ids.push(r.stdout.trim());
          merged.push(await inspect(name, '{{.GraphDriver.Data.MergedDir}}'));
          if (j % 10 === 0) await booted(name);
          assert.equal((await docker(['stop', '-t', '0', name])).code, 0);
          assert.equal((await docker(['rm', name])).code, 0);
        }),
      );
    }
    await sleep(500);
    assert.deepEqual(await leftovers(), []);
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n');
    assert.deepEqual(
      mounts.filter((l) => merged.some((m) => m && l.includes(m))),
      [],
      'mounts of removed containers',
    );
    // Only this test's containers: others may run on the same Docker host meanwhile.
    const bundles = (
      await run('sh', ['-c', 'ls /run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby 2>/dev/null'])
    ).stdout.split('\n');
    assert.deepEqual(
      bundles.filter((b) => ids.includes(b)),
      [],
      'bundles of removed containers',
    );
  });
});
