/**
 * System workloads (docs/system.md): systemd as the image's init, Docker-in-Docker, and a
 * workload that powers its VM off with reboot(2). One container each: under TCG a systemd boot
 * takes tens of seconds and dockerd's first start about as long.
 */

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { BUSYBOX, docker, inspect, RUNTIME, runVm, uniqueName, until } from './docker.ts';
import { ensureImage } from './images.ts';

const BOOT_MS = 300_000;

test('reboot(2) by the workload (busybox poweroff -f) ends the container with status 0', async () => {
  const r = await runVm([BUSYBOX, 'sh', '-c', 'echo before; poweroff -f; sleep 600']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'before\n');
  assert.equal(r.stderr, '');
});

describe('systemd as the image entrypoint', () => {
  const name = uniqueName('systemd');
  after(() => docker(['rm', '-f', name]));

  test('boots to running, with no failed unit, journal and exec working, and stops cleanly on SIGRTMIN+3', async () => {
    const image = await ensureImage('runcvm-test/systemd', 'systemd');
    const stopTimeout = 120;
    const r = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '--stop-timeout',
      String(stopTimeout),
      image,
    ]);
    assert.equal(r.code, 0, r.stderr);

    const state = await until(
      'systemctl is-system-running to settle',
      async () => {
        const s = (await docker(['exec', name, 'systemctl', 'is-system-running'])).stdout.trim();
        return s === 'running' || s === 'degraded' ? s : undefined;
      },
      BOOT_MS,
      1000,
    );
    const failed = (
      await docker(['exec', name, 'systemctl', 'list-units', '--failed', '--plain', '--no-legend'])
    ).stdout.trim();
    assert.equal(failed, '', `failed units (state ${state})`);
    assert.equal(state, 'running');

    // systemd is PID 1 of the workload's namespace and manages the guest's whole cgroup2 tree.
    const facts = await docker([
      'exec',
      name,
      'sh',
      '-c',
      'cat /proc/1/comm /proc/1/cgroup; stat -fc %T /sys/fs/cgroup',
    ]);
    assert.equal(facts.stdout, 'systemd\n0::/init.scope\ncgroup2fs\n', facts.stderr);

    const marker = `runcvm-${process.pid}-${Date.now()}`;
    const logged = await docker(['exec', name, 'logger', '-t', 'runcvm-e2e', marker]);
    assert.equal(logged.code, 0, logged.stderr);
    await until(
      'the logger line in the journal',
      async () => {
        const j = await docker(['exec', name, 'journalctl', '--no-pager', '-o', 'cat', '-t', 'runcvm-e2e']);
        return j.stdout.includes(marker) ? true : undefined;
      },
      60_000,
      1000,
    );

    // The image's STOPSIGNAL is SIGRTMIN+3: systemd runs its shutdown, then reboot(2) ends it.
    assert.equal(await inspect(name, '{{.Config.StopSignal}}'), 'SIGRTMIN+3');
    const t0 = Date.now();
    const stop = await docker(['stop', name], { timeoutMs: (stopTimeout + 60) * 1000 });
    const tookS = (Date.now() - t0) / 1000;
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '0');
    assert.ok(tookS < stopTimeout / 2, `docker stop took ${tookS} s (stop timeout ${stopTimeout} s)`);
  });
});

describe('Docker-in-Docker', () => {
  const name = uniqueName('dind');
  const volume = `${name}-disks`;
  after(async () => {
    await docker(['rm', '-f', name]);
    await docker(['volume', 'rm', '-f', volume]);
  });

  test('dockerd in the VM (/var/lib/docker on a RUNCVM_DISKS disk) runs a runc container with its own memory limit', async () => {
    const image = await ensureImage('runcvm-test/dind', 'dind');
    const r = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-m',
      '1g',
      '-v',
      `${volume}:/disks`,
      '-e',
      'RUNCVM_DISKS=/disks/docker,/var/lib/docker,ext4,2G',
      image,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await until(
      'dockerd in the guest to answer',
      async () => {
        const v = await docker(['exec', name, 'docker', 'version', '--format', '{{.Server.Version}}']);
        return v.code === 0 ? v.stdout : undefined;
      },
      BOOT_MS,
      2000,
    );

    const info = await docker([
      'exec',
      name,
      'docker',
      'info',
      '--format',
      '{{.Driver}} {{.CgroupVersion}} {{.BridgeNfIptables}}',
    ]);
    assert.equal(info.stdout.trim(), 'overlay2 2 true', info.stderr);

    // No registry: the image is a tarball holding a static busybox, imported in the guest.
    const imported = await docker(['exec', name, 'docker', 'import', '/root/hello.tar', 'hello:1']);
    assert.equal(imported.code, 0, imported.stderr);
    const inner = await docker(
      [
        'exec',
        name,
        'docker',
        'run',
        '--rm',
        '-m',
        '64m',
        'hello:1',
        '/bin/busybox',
        'sh',
        '-c',
        'echo hello; cat /sys/fs/cgroup/memory.max; gw=$(/bin/busybox ip route | /bin/busybox awk "/default/ {print \\$3}"); /bin/busybox ping -c 1 -W 10 "$gw" >/dev/null && echo bridge-ok',
      ],
      { timeoutMs: 300_000 },
    );
    assert.equal(inner.stdout, `hello\n${64 * 1024 * 1024}\nbridge-ok\n`, inner.stderr);
  });
});
