/**
 * Bad RUNCVM_* input fails `docker run` at once, with a message naming the option and the
 * allowed values, and leaves nothing behind.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { readHostSettings } from '../../src/runtime/host-settings.ts';
import { findFirecracker } from '../../src/vmm/firecracker/driver.ts';
import { BUSYBOX, docker, leftovers, PREFIX, RUNTIME, runVm, uniqueName } from './docker.ts';

const BAD: Array<[string, RegExp]> = [
  ['RUNCVM_HYPERVISOR=xen', /RUNCVM_HYPERVISOR: unknown value "xen" \(allowed: qemu, firecracker\)/],
  ['RUNCVM_ACCEL=hvf', /RUNCVM_ACCEL: unknown value "hvf" \(allowed: kvm, tcg\)/],
  ['RUNCVM_KERNEL_DEBUG=maybe', /RUNCVM_KERNEL_DEBUG: invalid value "maybe" \(allowed: 1, 0, true, false\)/],
  ['RUNCVM_KERNEL=nope', /RUNCVM_KERNEL: unknown value "nope" \(allowed: runcvm, debian\)/],
  ['RUNCVM_KERNEL=../x', /RUNCVM_KERNEL: unknown value "\.\.\/x" \(allowed: runcvm, debian\)/],
  ['RUNCVM_HYPERVSIOR=qemu', /RUNCVM_HYPERVSIOR: unknown option/],
  ['RUNCVM_CACHE_MAX=huge', /RUNCVM_CACHE_MAX: a host setting, not a container option/],
];

for (const [env, message] of BAD) {
  test(`-e ${env} is refused with a clear message`, async () => {
    const t0 = Date.now();
    const r = await runVm(['-e', env, BUSYBOX, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
    assert.ok(Date.now() - t0 < 20_000, 'refused before any VM boots');
  });
}

test('firecracker fails clearly where it is not available', async (t) => {
  if (findFirecracker(readHostSettings(PREFIX).firecracker) && existsSync('/dev/kvm')) {
    t.skip('this host has a firecracker binary and /dev/kvm');
    return;
  }
  const r = await runVm(['-e', 'RUNCVM_HYPERVISOR=firecracker', BUSYBOX, 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /RUNCVM_HYPERVISOR=firecracker: not available on this host: firecracker binary not found/);
  if (!existsSync('/dev/kvm')) t.diagnostic('this host has no /dev/kvm: the message also names it');
});

test('a refused container leaves nothing behind: no process, no bundle, state "created" as with runc', async () => {
  const name = uniqueName('refused');
  try {
    const r = await docker([
      'run',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-e',
      'RUNCVM_HYPERVISOR=xen',
      BUSYBOX,
      'true',
    ]);
    assert.notEqual(r.code, 0);
    const i = await docker(['inspect', '-f', '{{.Id}} {{.State.Status}}', name]);
    const [id, status] = i.stdout.trim().split(' ');
    assert.equal(status, 'created');
    assert.equal(existsSync(`/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/${id}`), false);
    assert.deepEqual(await leftovers(), []);
  } finally {
    await docker(['rm', '-f', name]);
  }
});

test('RUNCVM_KERNEL_DEBUG=1 shows the boot on stderr, never on stdout', async () => {
  const r = await runVm(['-e', 'RUNCVM_KERNEL_DEBUG=1', BUSYBOX, 'echo', 'payload']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'payload\n');
  assert.match(r.stderr, /Linux version/);
});
