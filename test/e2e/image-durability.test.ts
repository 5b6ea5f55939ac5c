/**
 * Durability of the image root (RUNCVM_ROOTFS=image, docs/storage.md "Durability"): what the
 * workload wrote survives however the VM ends (restart with a stop timeout, docker kill, stop -t 0,
 * QEMU killed from the host), within the documented bound; and a clean stop writes hard links and
 * extended attributes back into Docker's layer as runc would have left them. Every scenario runs
 * with virtiofs volumes and with RUNCVM_VOLUMES=9p.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX, docker, inspect, leftovers, RUNTIME, run, uniqueName, until } from './docker.ts';

const REPO = new URL('../..', import.meta.url).pathname;
/** Per run: another run on the same Docker host builds and removes its own. */
const TOOLS_IMAGE = `runcvm-e2e-durability-tools:${process.pid}`;
/** The documented bound (docs/storage.md) plus a margin for a loaded TCG host. */
const AFTER_WRITE_MS = 1500;
const MODES = [
  { label: 'virtiofs volumes', env: [] as string[] },
  { label: 'RUNCVM_VOLUMES=9p', env: ['-e', 'RUNCVM_VOLUMES=9p'] },
];
const names: string[] = [];
const dirs: string[] = [];
/** The static xattr helper, also run on the host to read the layer. */
let xattrTool = '';

function name(tag: string): string {
  const n = uniqueName(tag);
  names.push(n);
  return n;
}

/** Removes the test's containers once it is done: each one left running holds a VM. */
async function removeAll(): Promise<void> {
  if (names.length) await docker(['rm', '-f', ...names.splice(0)], { timeoutMs: 300_000 });
}

async function ok(args: string[], opts?: { timeoutMs?: number }): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Waits until the container's log has `count` lines matching re (each run of the script adds one). */
async function waitLogs(ctr: string, re: RegExp, count = 1, timeoutMs = 300_000): Promise<void> {
  await until(
    `${count}× ${re} in the logs of ${ctr}`,
    async () => {
      const r = await docker(['logs', ctr]);
      const n = r.stdout.split('\n').filter((l) => re.test(l)).length;
      if (n >= count) return true;
      if ((await inspect(ctr, '{{.State.Running}}')) !== 'true') {
        throw new Error(`${ctr} stopped before ${re} (${count}×):\n${r.stdout}${r.stderr}`);
      }
      return undefined;
    },
    timeoutMs,
    250,
  );
}

async function execOut(ctr: string, script: string, timeoutMs = 300_000): Promise<string> {
  return ok(['exec', ctr, 'sh', '-c', script], { timeoutMs });
}

/** The QEMU process of a container, found by the `-name runcvm-<id12>` argument the driver gives it. */
async function qemuPid(ctr: string): Promise<number> {
  const id = (await inspect(ctr, '{{.Id}}')).slice(0, 12);
  const ps = await run('ps', ['-eo', 'pid=,args=']);
  const line = ps.stdout.split('\n').find((l) => /qemu-system/.test(l) && l.includes(`-name runcvm-${id},`));
  assert.ok(line, `no QEMU with -name runcvm-${id}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** Ways a running container ends without the workload exiting (so without a write-back). */
const ENDINGS: Record<string, (ctr: string) => Promise<void>> = {
  'docker restart -t 2': async (ctr) => {
    await ok(['restart', '-t', '2', ctr], { timeoutMs: 300_000 });
  },
  'docker kill': async (ctr) => {
    await ok(['kill', ctr]);
  },
  'docker stop -t 0': async (ctr) => {
    await ok(['stop', '-t', '0', ctr]);
  },
  'kill -9 of QEMU': async (ctr) => {
    process.kill(await qemuPid(ctr), 'SIGKILL');
    await until(`${ctr} to stop after its QEMU was killed`, async () =>
      (await inspect(ctr, '{{.State.Running}}')) === 'false' ? true : undefined,
    );
  },
};

/** Ends the container the given way (the restart ending starts it again itself), then starts it. */
async function endAndStart(ending: string, ctr: string): Promise<void> {
  await (ENDINGS[ending] as (c: string) => Promise<void>)(ctr);
  if (ending !== 'docker restart -t 2') await ok(['start', ctr], { timeoutMs: 300_000 });
}

before(async () => {
  // busybox plus the static xattr helper (busybox has no setfattr/getfattr).
  const ctx = mkdtempSync('/tmp/runcvm-e2e-durability-');
  dirs.push(ctx);
  xattrTool = join(ctx, 'xattr');
  execFileSync('musl-gcc', ['-static', '-O2', '-o', xattrTool, join(REPO, 'test/images/xattr/xattr.c')]);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY xattr /bin/\n`);
  await ok(['build', '-q', '-t', TOOLS_IMAGE, ctx], { timeoutMs: 300_000 });
});

after(async () => {
  await removeAll();
  await docker(['rmi', '-f', TOOLS_IMAGE]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const mode of MODES) {
  const IMAGE = ['-e', 'RUNCVM_ROOTFS=image', ...mode.env];
  const runDetached = (n: string, script: string, image = BUSYBOX) =>
    ok(['run', '-d', '--name', n, `--runtime=${RUNTIME}`, ...IMAGE, image, 'sh', '-c', script], { timeoutMs: 300_000 });

  describe(`image root durability (${mode.label})`, { timeout: 3_600_000 }, () => {
    afterEach(removeAll);

    for (const ending of Object.keys(ENDINGS)) {
      test(`a line appended before ${ending} is there at the next start`, async () => {
        const n = name('kept');
        // sh as the guest's PID 1 ignores SIGTERM: a stop always ends in the kill.
        await runDetached(n, 'echo persisted >> /kept; echo written; sleep 1000');
        await waitLogs(n, /^written$/);
        if (ending !== 'docker restart -t 2') await sleep(AFTER_WRITE_MS);
        await endAndStart(ending, n);
        await waitLogs(n, /^written$/, 2);
        assert.equal(await execOut(n, 'cat /kept'), 'persisted\npersisted\n', "the first run's line survived");
      });
    }

    test('a 256 MiB file written 1.5 s before docker kill is complete at the next start', async () => {
      const n = name('big');
      const script = [
        'if [ -e /big.done ]; then echo again; else',
        'head -c 1048576 /dev/urandom > /chunk',
        'i=0; while [ $i -lt 256 ]; do cat /chunk; i=$((i+1)); done > /big',
        'touch /big.done; echo written; fi; sleep 1000',
      ].join('\n');
      await runDetached(n, script);
      await waitLogs(n, /^written$/, 1, 900_000);
      await sleep(AFTER_WRITE_MS);
      await ok(['kill', n]);
      await ok(['start', n], { timeoutMs: 300_000 });
      // The second run says "again" if /big.done survived, else it writes the file anew.
      await waitLogs(n, /^(again|written)$/, 2, 900_000);
      const second = (await docker(['logs', n])).stdout.split('\n').filter((l) => /^(again|written)$/.test(l))[1];
      assert.equal(second, 'again', "the first run's files survived");
      const check =
        'stat -c %s /big; md5sum < /big; i=0; while [ $i -lt 256 ]; do cat /chunk; i=$((i+1)); done | md5sum';
      const [size, got, want] = (await execOut(n, check, 900_000)).trim().split('\n');
      assert.equal(size, String(256 << 20));
      assert.equal(got, want, 'the file holds what was written');
    });

    test('concurrent appenders all survive docker kill', async () => {
      const n = name('writers');
      const script = [
        'for w in 1 2 3 4; do ( j=0; while [ $j -lt 100 ]; do echo w$w-$j >> /shared; echo $j >> /own$w; j=$((j+1)); done ) & done',
        'wait; echo written; sleep 1000',
      ].join('\n');
      await runDetached(n, script);
      await waitLogs(n, /^written$/);
      await sleep(AFTER_WRITE_MS);
      await ok(['kill', n]);
      await ok(['start', n], { timeoutMs: 300_000 });
      await waitLogs(n, /^written$/, 2);
      // Two runs: every writer's 100 lines twice, in the shared file and in its own.
      const counts = await execOut(n, 'for w in 1 2 3 4; do echo "$(grep -c "^w$w-" /shared) $(wc -l < /own$w)"; done');
      assert.equal(counts, '200 200\n'.repeat(4));
    });

    test("hard links and xattrs written by the guest reach Docker's layer on a clean stop, as with runc", async () => {
      const cap = '0100000200040000000000000000000000000000'; // cap_net_bind_service+ep, VFS_CAP_REVISION_2
      const script = [
        'mkdir /lnk && echo shared > /lnk/a && ln /lnk/a /lnk/b && mkdir /lnk/sub && ln /lnk/a /lnk/sub/c',
        'echo solo > /lnk/solo && ln -s a /lnk/sym',
        'xattr set /lnk/solo user.color 626c7565 && xattr set /lnk/a user.tag 7477696e',
        `xattr set /lnk/solo security.capability ${cap}`,
      ].join(' && ');
      const layers: Record<string, string> = {};
      const diffs: Record<string, string[]> = {};
      for (const rt of ['runc', RUNTIME]) {
        const n = name(`links-${rt}`);
        const env = rt === 'runc' ? [] : IMAGE;
        const r = await docker(['run', '--name', n, `--runtime=${rt}`, ...env, TOOLS_IMAGE, 'sh', '-c', script], {
          timeoutMs: 300_000,
        });
        assert.equal(r.code, 0, `${rt}: ${r.stdout}${r.stderr}`);
        assert.doesNotMatch(r.stderr, /write-back/, `${rt}: the write-back reported nothing`);
        layers[rt] = await inspect(n, '{{.GraphDriver.Data.UpperDir}}');
        diffs[rt] = (await ok(['diff', n])).split('\n').filter(Boolean).sort();
        // docker cp's archive records the second and third names as links to the first.
        const tar = execFileSync(
          'sh',
          [
            '-c',
            `docker cp ${n}:/lnk - | tar -tvf - | sed -n 's/.* \\(lnk\\/[^ ]*\\) link to \\(.*\\)/\\1 -> \\2/p' | sort`,
          ],
          { encoding: 'utf8' },
        );
        assert.equal(tar, 'lnk/b -> lnk/a\nlnk/sub/c -> lnk/a\n', `${rt}: docker cp keeps the hard links`);
      }
      assert.deepEqual(diffs[RUNTIME], diffs.runc, 'docker diff as with runc');
      const facts = (root: string) => {
        const st = (p: string) => statSync(join(root, p));
        const xattr = (p: string, nm: string) =>
          execFileSync(xattrTool, ['get', join(root, p), nm], { encoding: 'utf8' }).trim();
        return {
          nlink: st('lnk/a').nlink,
          sameInode: st('lnk/a').ino === st('lnk/b').ino && st('lnk/a').ino === st('lnk/sub/c').ino,
          solo: st('lnk/solo').nlink,
          color: xattr('lnk/solo', 'user.color'),
          tag: xattr('lnk/b', 'user.tag'),
          cap: xattr('lnk/solo', 'security.capability'),
        };
      };
      const runc = facts(layers.runc as string);
      assert.deepEqual(runc, { nlink: 3, sameInode: true, solo: 1, color: '626c7565', tag: '7477696e', cap });
      assert.deepEqual(facts(layers[RUNTIME] as string), runc, 'the layer holds the same links and xattrs');
    });
  });
}

test('no launcher, VMM or file server is left behind (QEMU killed from the host included)', async () => {
  await removeAll();
  assert.deepEqual(await leftovers(), []);
});
