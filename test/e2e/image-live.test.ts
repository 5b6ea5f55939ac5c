/**
 * Image root (RUNCVM_ROOTFS=image) while the container runs: the live write-back puts what the
 * guest wrote into Docker's layer within a bounded delay, so `docker cp` from and `docker diff` of a
 * running container show it, as under runc (docs/storage.md, "Live write-back"). Each step runs the
 * same commands in a runc container and waits, with a deadline, for runcvm's `docker diff` to equal
 * runc's; files copied in with `docker cp` must stay.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BUSYBOX, docker, inspect, RUNTIME, run, uniqueName, until } from './docker.ts';

/** The documented bound (docs/storage.md) is about 2 s for a small change; this leaves room for a loaded TCG host. */
const LIVE_DEADLINE_MS = Number(process.env.RUNCVM_E2E_LIVE_DEADLINE_MS ?? 10_000);

const diffLines = async (name: string) => (await docker(['diff', name])).stdout.split('\n').filter(Boolean).sort();

async function exec(name: string, script: string): Promise<void> {
  const r = await docker(['exec', name, 'sh', '-c', script]);
  assert.equal(r.code, 0, `${name}: ${script}: ${r.stderr}`);
}

async function cpOut(name: string, path: string): Promise<string | undefined> {
  const r = await run('sh', ['-c', `docker cp ${name}:${path} - 2>/dev/null | tar -xO`]);
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

/** Runs script in both containers; then polls until runcvm's docker diff equals runc's. Returns the delay in ms. */
async function step(vm: string, ref: string, script: string): Promise<number> {
  await Promise.all([exec(vm, script), exec(ref, script)]);
  const t0 = Date.now();
  const want = await diffLines(ref);
  let got: string[] = [];
  try {
    await until(
      `docker diff of ${vm} to match runc's after: ${script}`,
      async () => {
        got = await diffLines(vm);
        return JSON.stringify(got) === JSON.stringify(want) ? true : undefined;
      },
      LIVE_DEADLINE_MS,
      100,
    );
  } catch (e) {
    assert.deepEqual(got, want, (e as Error).message);
  }
  return Date.now() - t0;
}

async function startPair(vm: string, ref: string, mode: string[]): Promise<void> {
  const script = 'echo ready; exec sleep 1000';
  const [a, b] = await Promise.all([
    docker(['run', '-d', '--name', vm, `--runtime=${RUNTIME}`, ...mode, BUSYBOX, 'sh', '-c', script]),
    docker(['run', '-d', '--name', ref, '--runtime=runc', BUSYBOX, 'sh', '-c', script]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  await until(
    `${vm} to accept exec`,
    async () => ((await docker(['exec', vm, 'true'])).code === 0 ? true : undefined),
    180_000,
  );
}

for (const volumes of ['virtiofs', '9p']) {
  describe(`image root with ${volumes} volumes: docker cp and diff of a running container see the guest's writes`, {
    timeout: 900_000,
  }, () => {
    const mode = ['-e', 'RUNCVM_ROOTFS=image', '-e', `RUNCVM_VOLUMES=${volumes}`];

    test('write, overwrite, delete (upper-only and image files), rename a directory, docker cp in: live, as with runc', async (t) => {
      const vm = uniqueName('live');
      const ref = uniqueName('live-runc');
      const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-live-'));
      const delays: number[] = [];
      try {
        await startPair(vm, ref, mode);
        delays.push(
          await step(
            vm,
            ref,
            'mkdir -p /data/sub && echo one > /data/a && echo two > /data/sub/b && ln -s a /data/link && echo brief > /scratch',
          ),
        );
        assert.equal(await cpOut(vm, '/data/a'), 'one\n');
        assert.equal(await cpOut(vm, '/data/sub/b'), 'two\n');

        delays.push(
          await step(
            vm,
            ref,
            'echo overwritten-and-longer > /data/a && rm /scratch /bin/true && mv /data/sub /data/moved && echo three > /data/moved/c',
          ),
        );
        assert.equal(await cpOut(vm, '/data/a'), 'overwritten-and-longer\n');
        assert.equal(await cpOut(vm, '/data/moved/c'), 'three\n');
        assert.equal(await cpOut(vm, '/data/sub/b'), undefined);

        // Copied into the running container: the live passes must leave it (and the guest does not see it until its next start).
        writeFileSync(join(dir, 'in.txt'), 'copied in\n');
        for (const c of [vm, ref])
          assert.equal((await docker(['cp', join(dir, 'in.txt'), `${c}:/data/in.txt`])).code, 0);
        delays.push(await step(vm, ref, 'echo four > /data/d && mkdir /data/gone && echo x > /data/gone/f'));
        delays.push(await step(vm, ref, 'rm -r /data/gone && echo five >> /data/d'));
        assert.equal(await cpOut(vm, '/data/in.txt'), 'copied in\n');
        assert.equal(await cpOut(vm, '/data/d'), 'four\nfive\n');
        t.diagnostic(`docker diff matched runc's ${delays.join(', ')} ms after each step (${volumes} volumes)`);

        // A file written live, then removed just before a kill: the write-back at delete must not bring it back.
        delays.push(await step(vm, ref, 'echo late > /data/late'));
        await Promise.all([exec(vm, 'rm /data/late; sync'), exec(ref, 'rm /data/late')]);
        await Promise.all([docker(['kill', vm]), docker(['kill', ref])]);
        await until(
          `${vm} to stop`,
          async () => ((await inspect(vm, '{{.State.Running}}')) === 'false' ? true : undefined),
          180_000,
        );
        assert.deepEqual(await diffLines(vm), await diffLines(ref));
        assert.equal(await cpOut(vm, '/data/in.txt'), 'copied in\n');
      } finally {
        await docker(['rm', '-f', vm, ref]);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe('image root: live write-back and a clean stop', { timeout: 900_000 }, () => {
  test('a file written live and removed before docker stop is not in the layer; the next start sees the rest', async () => {
    const vm = uniqueName('live-stop');
    try {
      const r = await docker([
        'run',
        '-d',
        '--name',
        vm,
        `--runtime=${RUNTIME}`,
        '-e',
        'RUNCVM_ROOTFS=image',
        BUSYBOX,
        'sh',
        '-c',
        'trap "exit 0" TERM; echo ready; sleep 1000 & wait',
      ]);
      assert.equal(r.code, 0, r.stderr);
      await until(
        `${vm} to accept exec`,
        async () => ((await docker(['exec', vm, 'true'])).code === 0 ? true : undefined),
        180_000,
      );
      await exec(vm, 'echo kept > /kept && echo temp > /temp');
      await until('/temp in the layer', () => cpOut(vm, '/temp'), LIVE_DEADLINE_MS, 100);
      await exec(vm, 'rm /temp');
      const s = await docker(['stop', vm], { timeoutMs: 300_000 });
      assert.equal(s.code, 0, s.stderr);
      assert.deepEqual(await diffLines(vm), ['A /kept']);
      assert.equal((await docker(['start', vm])).code, 0);
      const seen = await until(
        'the restarted guest',
        async () => {
          const e = await docker(['exec', vm, 'sh', '-c', 'cat /kept; test -e /temp || echo no-temp']);
          return e.code === 0 ? e.stdout : undefined;
        },
        180_000,
      );
      assert.equal(seen, 'kept\nno-temp\n');
    } finally {
      await docker(['rm', '-f', vm]);
    }
  });
});
