import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError } from '../contracts/errors.ts';
import { parseRuntimeArgs } from './cli-args.ts';
import { requestedResources, runcUpdateArgv } from './update.ts';
import { parseRam, planUpdate } from './update-plan.ts';

const MIB = 1024 * 1024;
const boot = { cpus: 2, memoryMiB: 512 };

test('a smaller --memory shrinks the guest and raises the cgroup limit by the VMM overhead', () => {
  // Exactly what dockerd sends for `docker update --memory 256m` (captured from runc's --resources input).
  const req = {
    memory: { limit: 256 * MIB, reservation: 0, swap: 0, kernel: 0 },
    cpu: { shares: 0, quota: 0, period: 0 },
    blockIO: { weight: 0 },
  };
  const plan = planUpdate(req, boot);
  assert.equal(plan.memoryTargetMiB, 256);
  assert.deepEqual(plan.resources.memory, { limit: 512 * MIB, reservation: 0, swap: 0, kernel: 0 });
  assert.deepEqual(plan.resources.cpu, req.cpu);
  assert.equal(plan.hostCpus, undefined);
});

test('growing back to the boot size is allowed, beyond it is refused with the boot size', () => {
  assert.equal(planUpdate({ memory: { limit: 512 * MIB } }, boot).memoryTargetMiB, 512);
  assert.throws(
    () => planUpdate({ memory: { limit: 1024 * MIB, swap: 2048 * MIB } }, boot),
    /--memory: 1024 MiB is more than the 512 MiB the VM booted with; a running VM can shrink and grow back up to its boot size, not beyond/,
  );
  assert.throws(
    () => planUpdate({ memory: { limit: 64 * MIB } }, boot),
    /--memory: 64 MiB is below the guest minimum of 128 MiB/,
  );
});

test('unlimited memory gives the guest its boot size; swap alone only gets the overhead', () => {
  assert.equal(planUpdate({ memory: { limit: -1, swap: -1 } }, boot).memoryTargetMiB, 512);
  assert.deepEqual(planUpdate({ memory: { limit: -1, swap: -1 } }, boot).resources.memory, { limit: -1, swap: -1 });
  const swapOnly = planUpdate({ memory: { limit: 0, swap: 1024 * MIB } }, boot);
  assert.equal(swapOnly.memoryTargetMiB, undefined);
  assert.deepEqual(swapOnly.resources.memory, { limit: 0, swap: 1280 * MIB });
});

test('--cpus may go down, not above the boot vCPU count', () => {
  assert.doesNotThrow(() => planUpdate({ cpu: { quota: 50_000, period: 100_000 } }, boot));
  assert.doesNotThrow(() => planUpdate({ cpu: { quota: 200_000, period: 100_000 } }, boot));
  assert.throws(
    () => planUpdate({ cpu: { quota: 150_000, period: 100_000 } }, { cpus: 1, memoryMiB: 512 }),
    /--cpus: 1.5 needs 2 vCPUs but the VM booted with 1; a running VM cannot gain vCPUs/,
  );
});

test('--cpuset-cpus is parsed for re-pinning; a bad list names the option', () => {
  assert.deepEqual(planUpdate({ cpu: { cpus: '0-1,3' } }, boot).hostCpus, [0, 1, 3]);
  assert.throws(
    () => planUpdate({ cpu: { cpus: 'x' } }, boot),
    (e: unknown) => /^--cpuset-cpus: not a CPU list: "x"/.test(describeError(e)),
  );
});

test('runc flags are sizes with binary suffixes, -1 is unlimited', () => {
  assert.equal(parseRam('256m', '--memory'), 256 * MIB);
  assert.equal(parseRam('1G', '--memory'), 1024 * MIB);
  assert.equal(parseRam('1048576', '--memory'), MIB);
  assert.equal(parseRam('-1', '--memory'), -1);
  assert.throws(() => parseRam('lots', '--memory'), /--memory: invalid size "lots"/);
});

test('the shim call gets the adjusted JSON on stdin; runc flags are raised too, others kept', () => {
  const shim = ['--root', '/r', '--log', '/l', '--log-format', 'json', 'update', '--resources=-', 'abc'];
  assert.deepEqual(runcUpdateArgv(parseRuntimeArgs(shim, '/'), {}), shim);
  assert.deepEqual(runcUpdateArgv(parseRuntimeArgs(['update', '--resources', '/tmp/res.json', 'abc'], '/'), {}), [
    'update',
    '--resources=-',
    'abc',
  ]);
  // A global flag's value that spells a verb is not the verb.
  const tricky = ['--log', 'update', 'update', '--memory-swap', '-1', 'abc'];
  assert.deepEqual(runcUpdateArgv(parseRuntimeArgs(tricky, '/'), {}), [
    '--log',
    'update',
    'update',
    '--resources=-',
    '--memory-swap=-1',
    'abc',
  ]);
  const flags = ['update', '--memory', '256m', '--pids-limit', '10', 'abc'];
  const a = parseRuntimeArgs(flags, '/');
  assert.equal(a.containerId, 'abc');
  const plan = planUpdate(requestedResources(undefined, a.updateFlags), boot);
  assert.equal(plan.memoryTargetMiB, 256);
  assert.deepEqual(runcUpdateArgv(a, plan.resources), [
    'update',
    '--resources=-',
    `--memory=${512 * MIB}`,
    '--pids-limit=10',
    'abc',
  ]);
});

test('flags given with --resources win over the JSON, as in runc', () => {
  const req = requestedResources(
    { memory: { limit: 300 * MIB }, cpu: { quota: 100_000, period: 100_000 } },
    { memory: '200m', 'cpu-quota': '50000', 'cpuset-cpus': '1' },
  );
  assert.deepEqual(req, { memory: { limit: 200 * MIB }, cpu: { quota: 50_000, period: 100_000, cpus: '1' } });
});

test('the update call is parsed in both spellings containerd has used', () => {
  for (const argv of [
    ['--root', '/r', 'update', '--resources=-', 'abc'],
    ['--root', '/r', 'update', '--resources', '-', 'abc'],
  ]) {
    const a = parseRuntimeArgs(argv, '/');
    assert.deepEqual([a.verb, a.resources, a.containerId, a.updateFlags], ['update', '-', 'abc', {}]);
  }
});
