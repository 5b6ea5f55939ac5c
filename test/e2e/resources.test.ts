/**
 * VM sizing from Docker's resource flags: --cpus gives vCPUs, -m gives guest RAM, and the
 * container's cgroup limit leaves room for the VMM (README, "Docker flags that size the VM").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUSYBOX, RUNTIME, docker, runVm, uniqueName } from './docker.ts';

test('--cpus N gives ceil(N) vCPUs; the default is 1', async () => {
  const [two, frac, dflt] = await Promise.all([
    runVm(['--cpus', '2', BUSYBOX, 'nproc']),
    runVm(['--cpus', '1.5', BUSYBOX, 'nproc']),
    runVm([BUSYBOX, 'nproc']),
  ]);
  assert.deepEqual([two.stdout, frac.stdout, dflt.stdout], ['2\n', '2\n', '1\n'], `${two.stderr}${frac.stderr}${dflt.stderr}`);
});

test('-m sets the guest RAM and the cgroup limit is guest RAM + 256 MiB', async () => {
  const name = uniqueName('mem');
  try {
    const r = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, '-m', '256m', BUSYBOX, 'sleep', '600']);
    assert.equal(r.code, 0, r.stderr);
    const free = await docker(['exec', name, 'sh', '-c', "awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo"]);
    const totalMiB = Number(free.stdout.trim());
    assert.ok(totalMiB > 200 && totalMiB <= 256, `guest MemTotal ${totalMiB} MiB for -m 256m`);
    const id = (await docker(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
    const limitFile = [`/sys/fs/cgroup/memory/docker/${id}/memory.limit_in_bytes`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.max`]
      .find((f) => { try { readFileSync(f); return true; } catch { return false; } });
    assert.ok(limitFile, 'the container cgroup exists');
    assert.equal(Number(readFileSync(limitFile, 'utf8').trim()), (256 + 256) * 1024 * 1024);
  } finally {
    await docker(['rm', '-f', name]);
  }
});

test('-m below the guest minimum is refused at create with the reason', async () => {
  const r = await runVm(['-m', '64m', BUSYBOX, 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--memory: 64 MiB is below the guest minimum of 128 MiB/);
});
