/**
 * Firecracker end to end: real docker CLI, real firecracker, real KVM. Runs wherever a
 * `firecracker` binary is in PATH (or the host setting "firecracker" names one) and the install found KVM
 * usable; everywhere else each test is reported as skipped with the reason. The rest of the
 * suite runs on Firecracker with RUNCVM_E2E_HYPERVISOR=firecracker (docs/firecracker.md).
 */

import assert from 'node:assert/strict';
import { closeSync, constants, openSync } from 'node:fs';
import { test } from 'node:test';
import { DEFAULT_DATA_PLANE } from '../../src/contracts/kinds.ts';
import { dataPlaneFor } from '../../src/runtime/data-plane.ts';
import { readHostSettings } from '../../src/runtime/host-settings.ts';
import { defaultVolumeMode } from '../../src/runtime/options.ts';
import { findFirecracker } from '../../src/vmm/firecracker/driver.ts';
import { BUSYBOX, docker, hostConfig, leftovers, PREFIX, RUNTIME, runVm, uniqueName, until } from './docker.ts';

/** The binary the runtime would pick: the same lookup as the driver's. */
function firecrackerBinary(): string | undefined {
  return findFirecracker(readHostSettings(PREFIX).firecracker);
}

function whyNot(): string | false {
  const binary = firecrackerBinary();
  if (!binary)
    return 'SKIPPED: no firecracker binary in PATH (or the host setting "firecracker"): Firecracker was not exercised on this host';
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
  } catch (e) {
    return `SKIPPED: /dev/kvm is not usable (${(e as Error).message}): Firecracker was not exercised on this host`;
  }
  const kvm = hostConfig().kvm as { usable: boolean; reason?: string };
  if (!kvm.usable)
    return `SKIPPED: the install's KVM probe failed (${kvm.reason ?? 'no reason recorded'}): Firecracker was not exercised on this host`;
  return false;
}

const skip = whyNot();

/**
 * Who runs a Firecracker container's data plane after boot, by the runtime's own rule: the C
 * supervisor (the Node launcher hands Firecracker over and exits) unless something only the
 * launcher does keeps it (today: the 9P server every Firecracker container has).
 */
const FC_PLANE = dataPlaneFor({
  requested: DEFAULT_DATA_PLANE,
  hypervisor: 'firecracker',
  volumes: defaultVolumeMode('firecracker'),
  podSandbox: false,
  disks: 0,
  hostCpus: false,
}).plane;

/** The commands of a container's host processes (`docker top`: its cgroup). */
async function hostCommands(name: string): Promise<string[]> {
  const r = await docker(['top', name, '-eo', 'pid,comm']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[1] ?? '')
    .filter(Boolean);
}
const FC = ['-e', 'RUNCVM_HYPERVISOR=firecracker'];

test('firecracker: a workload runs in its own kernel with separate stdout/stderr and its exit status', {
  skip,
}, async () => {
  const r = await runVm([...FC, BUSYBOX, 'sh', '-c', 'cat /proc/cmdline; uname -r; echo err >&2; exit 3'], {
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 3, r.stderr);
  const [cmdline, release] = r.stdout.split('\n');
  assert.match(cmdline ?? '', /\breboot=k\b/, 'booted by the Firecracker driver');
  assert.doesNotMatch(cmdline ?? '', /\bnomodule\b/);
  assert.notEqual(release, (await docker(['run', '--rm', '--runtime=runc', BUSYBOX, 'uname', '-r'])).stdout.trim());
  assert.equal(r.stderr.trim(), 'err');
});

test('firecracker: docker exec reaches the guest over vsock; docker stop powers the VM off and leaves nothing', {
  skip,
}, async () => {
  const name = uniqueName('fc');
  try {
    const up = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      ...FC,
      BUSYBOX,
      'sh',
      '-c',
      'trap "exit 7" TERM; sleep 600 & wait',
    ]);
    assert.equal(up.code, 0, up.stderr);
    const e = await until(
      'docker exec in the firecracker guest',
      async () => {
        const x = await docker(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
        return x.code === 5 ? x : undefined;
      },
      60_000,
      500,
    );
    assert.equal(e.stdout, 'out\n');
    assert.equal(e.stderr, 'err\n');
    // Once the VM runs, the launcher has handed Firecracker over to runcvm-supervisor and exited
    // (vsock handshake and power-off in C), or stays when the rule above keeps it.
    const procs = await until(
      `the ${FC_PLANE} data plane of a running Firecracker container`,
      async () => {
        const p = await hostCommands(name);
        const handedOver = !p.includes('node') && p.some((c) => c.startsWith('runcvm-supervis'));
        return (FC_PLANE === 'supervisor') === handedOver ? p : undefined;
      },
      30_000,
      500,
    );
    assert.ok(procs.includes('firecracker'), `no firecracker process: ${procs.join(' ')}`);
    const again = await docker(['exec', name, 'true']);
    assert.equal(again.code, 0, `docker exec after the handover: ${again.stderr}`);
    const stop = await docker(['stop', '-t', '20', name]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await docker(['inspect', '-f', '{{.State.ExitCode}}', name])).stdout.trim(), '7');
    assert.deepEqual(await leftovers(), []);
  } finally {
    await docker(['rm', '-f', name]);
  }
});
