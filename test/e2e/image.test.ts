/**
 * The image rootfs mode (RUNCVM_ROOTFS=image) on QEMU: the root is the cached ext4 of the image's
 * layers plus the container's own layers and a writable drive, stacked by an overlay in the guest
 * (docs/storage.md). Compared against runc where "what Docker shows" is the question.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  BUSYBOX,
  docker,
  inspect,
  leftovers,
  PREFIX,
  RUNTIME,
  run,
  runRunc,
  runVm,
  uniqueName,
  until,
} from './docker.ts';

const IMAGE = ['-e', 'RUNCVM_ROOTFS=image'];
const CACHE = '/var/lib/runcvm/cache';
const names: string[] = [];
const images: string[] = [];
const volumes: string[] = [];

function name(tag: string): string {
  const n = uniqueName(tag);
  names.push(n);
  return n;
}

async function ok(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A new image (new layer chain, so not cached yet) on top of busybox. */
async function freshImage(tag: string, extra = ''): Promise<string> {
  const dir = mkdtempSync('/tmp/runcvm-e2e-img-');
  const img = `runcvm-test/${uniqueName(tag)}`;
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN echo ${img} > /image-id${extra}\n`);
  try {
    await ok(['build', '-q', '-t', img, dir], { timeoutMs: 300_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  images.push(img);
  return img;
}

function cacheFiles(): string[] {
  return existsSync(CACHE) ? readdirSync(CACHE) : [];
}

const runcvm = (args: string[]) => run(`${PREFIX}/bin/runcvm`, args);

/** The changes a script makes, as `docker diff` reports them after the container exits. */
async function diffAfter(runtime: string, script: string): Promise<string[]> {
  const n = name(`diff-${runtime}`);
  const env = runtime === 'runc' ? [] : IMAGE;
  const r = await docker(['run', '--name', n, `--runtime=${runtime}`, ...env, BUSYBOX, 'sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  return (await ok(['diff', n])).split('\n').filter(Boolean).sort();
}

describe('image rootfs mode (QEMU, RUNCVM_ROOTFS=image)', { timeout: 1_800_000 }, () => {
  after(async () => {
    if (names.length) await docker(['rm', '-f', ...names]);
    if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]);
    if (images.length) await docker(['rmi', '-f', ...images]);
    // The images made here are gone: so is any use of their cache entries (others rebuild cheaply).
    await runcvm(['cache', 'prune', '--max', '0']);
  });

  test("the guest sees the same tree as runc: image, Docker's init files, files copied in before start", async () => {
    const list =
      'find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -print | sort; cat /etc/hostname /from-host';
    const runcName = name('tree-runc');
    const vmName = name('tree-vm');
    const src = mkdtempSync('/tmp/runcvm-e2e-cp-');
    writeFileSync(join(src, 'from-host'), 'copied before start\n');
    for (const [n, rt, env] of [
      [runcName, 'runc', []],
      [vmName, RUNTIME, IMAGE],
    ] as const) {
      await ok(['create', '--name', n, '--hostname', 'same', `--runtime=${rt}`, ...env, BUSYBOX, 'sh', '-c', list]);
      await ok(['cp', join(src, 'from-host'), `${n}:/from-host`]);
    }
    rmSync(src, { recursive: true, force: true });
    const out = async (n: string) => {
      const r = await docker(['start', '-a', n]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const expected = await out(runcName);
    assert.match(expected, /\/\.dockerenv\n[\s\S]*copied before start/);
    assert.equal(await out(vmName), expected);
  });

  test('docker diff, cp and commit see what the guest wrote, exactly as with runc', async () => {
    const script = [
      'echo new > /added',
      'mkdir -p /d/e && echo f > /d/e/f',
      'rm -rf /home',
      'rm /bin/true',
      'echo more >> /etc/profile-x',
      'ln -s /added /link',
      'chown 123:456 /added',
      'chmod 604 /added',
      'mkfifo /fifo',
      'rm -rf /root && mkdir /root && echo r > /root/only',
    ].join(' && ');
    const vm = await diffAfter(RUNTIME, script);
    assert.deepEqual(vm, await diffAfter('runc', script));
    const n = names.at(-2) as string; // the runcvm container of the pair
    const tar = await run('sh', ['-c', `docker cp ${n}:/added - | tar -tvf -`]);
    assert.match(tar.stdout, /-rw----r-- 123\/456 +4 .* added/);
    const img = `runcvm-test/${uniqueName('commit')}`;
    images.push(img);
    await ok(['commit', n, img]);
    const r = await runRunc([
      img,
      'sh',
      '-c',
      'cat /added /d/e/f /root/only; ls /home /bin/true 2>&1 | wc -l; readlink /link',
    ]);
    assert.equal(r.stdout, 'new\nf\nr\n2\n/added\n');
  });

  test('files survive docker restart; after a kill they stay on the writable drive; docker rm removes the drive', async () => {
    const n = name('restart');
    await ok([
      'run',
      '-d',
      '--name',
      n,
      `--runtime=${RUNTIME}`,
      ...IMAGE,
      BUSYBOX,
      'sh',
      '-c',
      'trap "exit 0" TERM; [ -f /count ] || echo 0 > /count; echo $(( $(cat /count) + 1 )) > /count; sync; while :; do sleep 1; done',
    ]);
    const layer = dirname(await inspect(n, '{{.GraphDriver.Data.UpperDir}}'));
    // The workload bumps the counter just after it starts: wait for the expected value.
    const count = (want: string) =>
      until(
        `the counter at ${want}`,
        async () => ((await docker(['exec', n, 'cat', '/count'])).stdout.trim() === want ? want : undefined),
        120_000,
      );
    await count('1');
    await ok(['restart', '-t', '30', n], { timeoutMs: 300_000 });
    await count('2');
    // A clean stop wrote the change back: Docker's own layer has it.
    await ok(['stop', '-t', '30', n], { timeoutMs: 300_000 });
    assert.deepEqual(
      (await ok(['diff', n])).split('\n').filter((l) => l.includes('count')),
      ['A /count'],
    );
    // A kill gives no write-back, but the next start still sees the guest's last writes.
    await ok(['start', n]);
    await count('3');
    await ok(['kill', n]);
    await ok(['start', n]);
    await count('4');
    assert.ok(existsSync(join(layer, 'runcvm', 'upper.ext4')));
    await ok(['rm', '-f', n]);
    assert.equal(existsSync(join(layer, 'runcvm')), false, 'docker rm must remove the writable drive');
  });

  test('volumes, file binds and tmpfs are mounted over the image root; --read-only keeps the root read-only', async () => {
    const v = uniqueName('vol');
    volumes.push(v);
    await ok(['volume', 'create', v]);
    const host = mkdtempSync('/tmp/runcvm-e2e-bind-');
    writeFileSync(join(host, 'in'), 'from host\n');
    try {
      const r = await runVm([
        ...IMAGE,
        '--read-only',
        '-v',
        `${v}:/data`,
        '-v',
        `${host}:/mnt/host`,
        '--tmpfs',
        '/scratch',
        '--add-host',
        'extra:10.9.8.7',
        BUSYBOX,
        'sh',
        '-c',
        'echo v > /data/v && cat /mnt/host/in && echo out > /mnt/host/out && echo t > /scratch/t && grep extra /etc/hosts; touch /rootfile 2>&1; echo rc=$?',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^from host\n10\.9\.8\.7\textra\n.*Read-only file system\nrc=1\n$/s);
      const check = await runRunc(['-v', `${v}:/data`, BUSYBOX, 'cat', '/data/v']);
      assert.equal(check.stdout, 'v\n');
      assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'out\n');
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  test("image root with RUNCVM_VOLUMES=9p (Firecracker's combination, no virtiofs): volumes, /etc/hosts, write-back", async () => {
    const host = mkdtempSync('/tmp/runcvm-e2e-bind9p-');
    writeFileSync(join(host, 'in'), 'from host\n');
    const n = name('img9p');
    try {
      const r = await docker([
        'run',
        '--name',
        n,
        `--runtime=${RUNTIME}`,
        ...IMAGE,
        '-e',
        'RUNCVM_VOLUMES=9p',
        '-v',
        `${host}:/mnt/host`,
        '--add-host',
        'extra:10.9.8.7',
        BUSYBOX,
        'sh',
        '-c',
        'cat /mnt/host/in && echo out > /mnt/host/out && grep extra /etc/hosts && grep -c virtiofs /proc/mounts; echo w > /written && rm /bin/true',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from host\n10.9.8.7\textra\n0\n');
      assert.equal(readFileSync(join(host, 'out'), 'utf8'), 'out\n');
      const diff = (await ok(['diff', n])).split('\n');
      assert.ok(diff.includes('A /written') && diff.includes('D /bin/true'), `docker diff: ${diff.join(', ')}`);
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  test('cache: 10 concurrent starts of an uncached image build it once and all succeed; ls and prune', async () => {
    const img = await freshImage('conc');
    const before = new Set(cacheFiles());
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => runVm([...IMAGE, img, 'cat', '/image-id'], { timeoutMs: 900_000 })),
    );
    for (const r of runs) assert.equal(r.stdout, `${img}\n`, r.stderr);
    const added = cacheFiles().filter((f) => !before.has(f));
    assert.deepEqual(
      added.map((f) => f.replace(/^[0-9a-f]{64}/, 'KEY')).sort(),
      ['KEY.ext4', 'KEY.json'],
      `new cache files: ${added}`,
    );
    const ls = await runcvm(['cache', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`${img} sha256:`));

    // prune never evicts an image a container has mounted; it evicts the others.
    const n = name('inuse');
    await ok(['run', '-d', '--name', n, `--runtime=${RUNTIME}`, ...IMAGE, img, 'sleep', '600']);
    const pruned = await runcvm(['cache', 'prune', '--max', '0']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.ok(
      cacheFiles().some((f) => added.includes(f)),
      'the image in use was evicted',
    );
    assert.match((await runcvm(['cache', 'ls'])).stdout, new RegExp(`yes +${img}`));
    // Another container of the same image starts from the kept entry.
    assert.equal((await runVm([...IMAGE, img, 'cat', '/image-id'])).stdout, `${img}\n`);
    await ok(['rm', '-f', n]);
    await until('the container to be gone', async () =>
      (await docker(['ps', '-aq', '-f', `name=${n}`])).stdout.trim() ? undefined : true,
    );
    await runcvm(['cache', 'prune', '--max', '0']);
    assert.deepEqual(
      cacheFiles().filter((f) => added.includes(f)),
      [],
      'an unused image survived prune --max 0',
    );
    assert.deepEqual(
      cacheFiles().filter((f) => /\.(lock|tmp-\d+(-[0-9a-f]+)?)$/.test(f)),
      [],
    );
  });

  test('a build killed half-way is never served: the next start rebuilds and succeeds', async () => {
    // Big enough that mkfs takes a moment, so the builder can be caught in the act.
    const img = await freshImage('interrupt', ' && head -c 300m /dev/urandom > /blob');
    const before = new Set(cacheFiles());
    const first = runVm([...IMAGE, img, 'true'], { timeoutMs: 600_000 });
    const lock = await until(
      'a build in progress',
      () => cacheFiles().find((f) => f.endsWith('.lock') && !before.has(f)),
      300_000,
      20,
    );
    const pid = Number(readFileSync(join(CACHE, lock), 'utf8'));
    process.kill(pid, 'SIGKILL');
    const r1 = await first;
    assert.notEqual(r1.code, 0, 'the run whose builder was killed cannot succeed');
    assert.equal(
      cacheFiles().filter((f) => !before.has(f) && f.endsWith('.json')).length,
      0,
      'metadata of a killed build',
    );
    const r2 = await runVm([...IMAGE, img, 'cat', '/image-id'], { timeoutMs: 600_000 });
    assert.equal(r2.stdout, `${img}\n`, r2.stderr);
    const added = cacheFiles().filter((f) => !before.has(f));
    assert.deepEqual(
      added.map((f) => f.replace(/^[0-9a-f]{64}/, 'KEY')).sort(),
      ['KEY.ext4', 'KEY.json'],
      `cache files now: ${added}`,
    );
  });

  test('no launcher, VMM or file server is left behind', async () => {
    assert.deepEqual(await until('no leftovers', async () => ((await leftovers()).length ? undefined : [])), []);
  });
});
