/**
 * Image root (RUNCVM_ROOTFS=image): however the container stops, Docker's view of its layer
 * (`docker diff`, `docker cp`) holds what the guest wrote, as under runc, and the next start sees
 * it. A killed container's writable drive is written back at the runtime's delete by a VM of its
 * own (docs/storage.md#image-rootfs-mode). The scripts sync before they report ready: how soon an
 * unsynced write reaches the drive is test/e2e/image-durability.test.ts's subject.
 */

import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BUSYBOX, docker, inspect, RUNTIME, run, uniqueName, until } from './docker.ts';

// Writes only on the first run: the restarted container runs the same command.
const SCRIPT =
  '[ -e /data/a ] || { mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && ln -s a /data/link && rm /bin/true; }; sync; echo ready; sleep 1000';

async function startAndWait(name: string, runtime: string, args: string[], script = SCRIPT): Promise<void> {
  const r = await docker(['run', '-d', '--name', name, `--runtime=${runtime}`, ...args, BUSYBOX, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  await until(
    `${name} ready`,
    async () => ((await docker(['logs', name])).stdout.includes('ready') ? true : undefined),
    180_000,
  );
}

async function waitStopped(name: string): Promise<void> {
  await until(
    `${name} to stop`,
    async () => ((await inspect(name, '{{.State.Running}}')) === 'false' ? true : undefined),
    180_000,
  );
}

/** The QEMU of a running runcvm container, found by the name the driver gives it. */
async function qemuPid(name: string): Promise<string> {
  const id = (await inspect(name, '{{.Id}}')).slice(0, 12);
  const r = await run('pgrep', ['-f', `qemu-system-x86_64 -name runcvm-${id}`]);
  const pid = r.stdout.trim().split('\n')[0];
  assert.ok(pid, `no QEMU found for ${name}`);
  return pid as string;
}

const diffLines = async (name: string) => (await docker(['diff', name])).stdout.split('\n').filter(Boolean).sort();

const STOPS: Array<[string, (name: string) => Promise<void>]> = [
  ['docker kill', async (n) => void (await docker(['kill', n]))],
  ['docker stop -t 1 (the workload ignores SIGTERM)', async (n) => void (await docker(['stop', '-t', '1', n]))],
  [
    'kill -9 of QEMU from the host',
    async (n) => {
      await run('kill', ['-9', await qemuPid(n)]);
      await waitStopped(n);
    },
  ],
];

for (const volumes of ['virtiofs', '9p']) {
  describe(`image root with ${volumes} volumes: Docker sees the guest's writes after any stop`, () => {
    const mode = ['-e', 'RUNCVM_ROOTFS=image', '-e', `RUNCVM_VOLUMES=${volumes}`];
    for (const [how, stop] of STOPS) {
      test(`${how}: docker diff and cp as with runc, and the next start sees the files`, async () => {
        const vm = uniqueName('wb');
        const ref = uniqueName('wb-runc');
        try {
          await Promise.all([startAndWait(vm, RUNTIME, mode), startAndWait(ref, 'runc', [])]);
          await Promise.all([stop(vm), docker(['kill', ref])]);
          await waitStopped(vm);
          assert.deepEqual(await diffLines(vm), await diffLines(ref));
          assert.equal((await docker(['cp', `${vm}:/data/sub/b`, '-'])).code, 0);
          const a = await run('sh', ['-c', `docker cp ${vm}:/data/a - | tar -xO`]);
          assert.equal(a.stdout, 'one\n');
          const s = await docker(['start', vm]);
          assert.equal(s.code, 0, s.stderr);
          const seen = await until('the restarted guest', async () => {
            const r = await docker([
              'exec',
              vm,
              'sh',
              '-c',
              'cat /data/a /data/sub/b; readlink /data/link; test -e /bin/true || echo no-true',
            ]);
            return r.code === 0 ? r.stdout : undefined;
          });
          assert.equal(seen, 'one\ntwo\na\nno-true\n');
        } finally {
          await docker(['rm', '-f', vm, ref]);
        }
      });
    }
  });
}

describe('image root: the guest out of memory', () => {
  test("the workload killed by the guest's OOM killer: its files reach Docker's layer, as with runc", async () => {
    const vm = uniqueName('wb-oom');
    const ref = uniqueName('wb-oom-runc');
    // tail of a file without newlines keeps all of it in memory until the OOM killer ends it.
    const script = 'mkdir /data && echo before-oom > /data/f && tail /dev/zero; echo "tail $?" > /data/status';
    try {
      const [a, b] = await Promise.all([
        docker(
          [
            'run',
            '--name',
            vm,
            `--runtime=${RUNTIME}`,
            '-m',
            '128m',
            '-e',
            'RUNCVM_ROOTFS=image',
            BUSYBOX,
            'sh',
            '-c',
            script,
          ],
          { timeoutMs: 600_000 },
        ),
        docker(
          ['run', '--name', ref, '--runtime=runc', '-m', '128m', '--memory-swap', '128m', BUSYBOX, 'sh', '-c', script],
          { timeoutMs: 600_000 },
        ),
      ]);
      assert.equal(a.code, b.code, `${a.stderr}\n${b.stderr}`);
      assert.deepEqual(await diffLines(vm), await diffLines(ref));
      const status = await run('sh', ['-c', `docker cp ${vm}:/data/status - | tar -xO`]);
      assert.equal(status.stdout, 'tail 137\n');
    } finally {
      await docker(['rm', '-f', vm, ref]);
    }
  });
});

describe('image root: a write-back cut short is redone', () => {
  test("QEMU killed in the middle of a clean exit's write-back: the layer ends complete", async () => {
    const name = uniqueName('wb-cut');
    try {
      // 96 MiB written back over virtiofs takes seconds under TCG: long enough to cut. The file gets
      // its name only once complete, so the live write-back only ever puts the whole of it in the
      // layer (by rename): a shorter /big there is the stop's write-back at work.
      const r = await docker([
        'run',
        '-d',
        '--name',
        name,
        `--runtime=${RUNTIME}`,
        '-e',
        'RUNCVM_ROOTFS=image',
        BUSYBOX,
        'sh',
        '-c',
        'dd if=/dev/urandom of=/big.tmp bs=1M count=96 2>/dev/null && mv /big.tmp /big && sha256sum /big && sync && echo ready && sleep 2',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const upper = await inspect(name, '{{.GraphDriver.Data.UpperDir}}');
      const sum = await until(
        'the checksum',
        async () => /^([0-9a-f]{64}) /m.exec((await docker(['logs', name])).stdout)?.[1],
        300_000,
      );
      const pid = await qemuPid(name);
      // The write-back starts when the workload exits: cut it as soon as it has written part of the file.
      const partialNow = () => {
        try {
          return statSync(join(upper, 'big')).size < 96 << 20 ? true : undefined;
        } catch {
          return undefined;
        }
      };
      await until('the write-back to start', partialNow, 120_000, 20);
      const partial = statSync(join(upper, 'big')).size;
      await run('kill', ['-9', pid]);
      await waitStopped(name);
      const got = await run('sh', ['-c', `docker cp ${name}:/big - | tar -xO | sha256sum`]);
      assert.equal(got.stdout.split(' ')[0], sum, `write-back cut at ${partial} bytes was not redone`);
      const left = readdirSync(upper);
      assert.ok(left.includes('big'));
      // Neither the live write-back's copies nor its staging directory are left in the layer.
      assert.ok(!left.includes('big.tmp') && !left.includes('.runcvm-live-wb'), left.join(' '));
    } finally {
      await docker(['rm', '-f', name]);
    }
  });
});
