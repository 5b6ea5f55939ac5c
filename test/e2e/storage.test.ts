/**
 * Storage on the QEMU backend: bind mounts, named volumes, tmpfs, --read-only, --shm-size,
 * RUNCVM_DISKS, durability, a real database, docker cp/diff/commit, and escape attempts.
 * Everything goes through the real docker CLI and real VMs (see docs/storage.md).
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BUSYBOX,
  docker,
  hypervisorArgs,
  inspect,
  leftovers,
  RUNTIME,
  run,
  runRunc,
  runVm as runVmDefault,
  uniqueName,
  until,
} from './docker.ts';
import { processTree, untilNoNode } from './resident.ts';

/**
 * RUNCVM_E2E_VOLUMES=9p / RUNCVM_E2E_ROOTFS=image run every runcvm container here with the 9P
 * volume server / the image root (hypervisorArgs in docker.ts; runVm adds them itself).
 */
const RT = [`--runtime=${RUNTIME}`, ...hypervisorArgs()];
const IMAGE_ROOT = process.env.RUNCVM_E2E_ROOTFS === 'image';
const runVm = runVmDefault;
const SEED_IMAGE = 'runcvm-test/storage-seed';
const POSTGRES = 'runcvm-test/postgres';
const REPO = new URL('../..', import.meta.url).pathname;
const names: string[] = [];
const volumes: string[] = [];
const dirs: string[] = [];

function tmpDir(tag: string): string {
  const d = mkdtempSync(`/tmp/runcvm-e2e-${tag}-`);
  chmodSync(d, 0o777);
  dirs.push(d);
  return d;
}

function name(tag: string): string {
  const n = uniqueName(tag);
  names.push(n);
  return n;
}

async function volume(tag: string): Promise<string> {
  const v = uniqueName(tag);
  volumes.push(v);
  const r = await docker(['volume', 'create', v]);
  assert.equal(r.code, 0, r.stderr);
  return v;
}

async function ok(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function waitLog(ctr: string, re: RegExp, timeoutMs = 120_000): Promise<string> {
  return until(
    `${re} in the logs of ${ctr}`,
    async () => {
      const r = await docker(['logs', ctr]);
      if (re.test(r.stdout)) return r.stdout;
      if (r.code !== 0) throw new Error(r.stderr);
      const s = await docker(['inspect', '-f', '{{.State.Running}}', ctr]);
      if (s.stdout.trim() === 'false') throw new Error(`${ctr} stopped before ${re}: ${r.stdout}${r.stderr}`);
      return undefined;
    },
    timeoutMs,
  );
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** A file from an ext4 image after a crash: replay the journal on a copy (e2fsck), then debugfs. */
function readExt4File(image: string, path: string): Buffer {
  const copy = `${image}.check`;
  execFileSync('cp', ['--sparse=always', image, copy]);
  try {
    try {
      execFileSync('/usr/sbin/e2fsck', ['-fy', copy], { stdio: 'ignore' });
    } catch (e) {
      // 1 = errors corrected (a replayed journal counts): fine; more is a broken filesystem.
      if ((e as { status?: number }).status !== 1) throw e;
    }
    return execFileSync('/usr/sbin/debugfs', ['-R', `cat ${path}`, copy], {
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    });
  } finally {
    rmSync(copy, { force: true });
  }
}

before(async () => {
  // A seed image for named-volume copy-up and RUNCVM_DISKS, plus the static escape probes.
  const ctx = tmpDir('seed-ctx');
  for (const probe of ['handles', 'p9probe']) {
    execFileSync('musl-gcc', ['-static', '-O2', '-o', join(ctx, probe), join(REPO, `test/images/escape/${probe}.c`)]);
  }
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM ${BUSYBOX}\nCOPY handles p9probe /bin/\n` +
      'RUN mkdir -p /seed /disks && echo from-image > /seed/hello && chown 1000:1000 /seed/hello\n',
  );
  const r = await docker(['build', '-q', '-t', SEED_IMAGE, ctx]);
  assert.equal(r.code, 0, r.stderr);
});

describe('bind mounts', () => {
  test('live both ways with no stale caches: write, overwrite, rename, delete in each direction', async () => {
    const dir = tmpDir('live');
    writeFileSync(`${dir}/hf`, 'one\n');
    // Each step waits for the other side's flag file, then acts at once and leaves its own.
    const script = [
      'w() { while [ ! -e /data/$1 ]; do usleep 10000; done; }',
      'echo g1 > /data/g; touch /data/s1; w h1',
      'echo g2-longer > /data/g; touch /data/s2; w h2',
      'mv /data/g /data/g-renamed; touch /data/s3; w h3',
      'rm /data/g-renamed; touch /data/s4; w h4',
      // host → guest: read first so the guest has the old file cached, then let the host change it.
      'echo "read1 $(cat /data/hf)"; touch /data/s5; w h5',
      'echo "read2 $(cat /data/hf)"; touch /data/s6; w h6',
      'echo "read3 $([ -e /data/hf ] && echo stale-old-name) $(cat /data/hf2)"; touch /data/s7; w h7',
      'echo "read4 $(cat /data/hf2 2>&1)"; ls /data | grep -c hf; echo done',
    ].join('\n');
    const c = name('live');
    await ok(['run', '-d', '--name', c, ...RT, '-v', `${dir}:/data`, BUSYBOX, 'sh', '-c', script]);
    const flag = (f: string) => until(`flag ${f}`, () => (existsSync(`${dir}/${f}`) ? true : undefined));
    const touch = (f: string) => writeFileSync(`${dir}/${f}`, '');
    await flag('s1');
    assert.equal(readFileSync(`${dir}/g`, 'utf8'), 'g1\n');
    touch('h1');
    await flag('s2');
    assert.equal(readFileSync(`${dir}/g`, 'utf8'), 'g2-longer\n');
    touch('h2');
    await flag('s3');
    assert.equal(existsSync(`${dir}/g`), false);
    assert.equal(readFileSync(`${dir}/g-renamed`, 'utf8'), 'g2-longer\n');
    touch('h3');
    await flag('s4');
    assert.equal(existsSync(`${dir}/g-renamed`), false);
    touch('h4');
    await flag('s5');
    writeFileSync(`${dir}/hf`, 'two-and-longer\n');
    touch('h5');
    await flag('s6');
    execFileSync('mv', [`${dir}/hf`, `${dir}/hf2`]);
    touch('h6');
    await flag('s7');
    rmSync(`${dir}/hf2`);
    touch('h7');
    assert.equal(await ok(['wait', c]), '0\n');
    const out = await ok(['logs', c]);
    assert.equal(
      out,
      "read1 one\nread2 two-and-longer\nread3  two-and-longer\nread4 cat: can't open '/data/hf2': No such file or directory\n0\ndone\n",
    );
  });

  test(':ro is enforced, -u 1000 creates files owned by 1000 on the host, a single file can be bind-mounted', async () => {
    const dir = tmpDir('own');
    const ro = tmpDir('ro');
    writeFileSync(`${ro}/r`, 'read-only data\n');
    const single = join(tmpDir('single'), 'single.conf');
    writeFileSync(single, 'line1\n');
    chmodSync(single, 0o666);
    const r = await runVm([
      '-u',
      '1000:1000',
      '-v',
      `${dir}:/rw`,
      '-v',
      `${ro}:/ro:ro`,
      '-v',
      `${single}:/etc/single.conf`,
      BUSYBOX,
      'sh',
      '-c',
      'cat /ro/r; touch /ro/x 2>/dev/null || echo ro-denied; grep " /ro " /proc/mounts | grep -q " ro," && echo ro-flag; ' +
        'echo mine > /rw/by1000; mkdir /rw/d1000; cat /etc/single.conf; echo line2 >> /etc/single.conf',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'read-only data\nro-denied\nro-flag\nline1\n');
    assert.equal(existsSync(`${ro}/x`), false);
    for (const p of [`${dir}/by1000`, `${dir}/d1000`]) {
      const st = statSync(p);
      assert.deepEqual([st.uid, st.gid], [1000, 1000], p);
    }
    assert.equal(readFileSync(single, 'utf8'), 'line1\nline2\n');
  });
});

describe('named volumes', () => {
  test("a new volume gets the image content; runcvm and runc containers see each other's writes", async () => {
    const v = await volume('shared');
    const c = name('vol');
    await ok([
      'run',
      '-d',
      '--name',
      c,
      ...RT,
      '-v',
      `${v}:/seed`,
      SEED_IMAGE,
      'sh',
      '-c',
      'ls -ln /seed/hello; cat /seed/hello; echo ready; exec sleep 600',
    ]);
    await waitLog(c, /ready/);
    const logs = await ok(['logs', c]);
    assert.match(logs, /^-\S+\s+1\s+1000\s+1000\s.*hello\nfrom-image\nready\n$/);
    const w = await runRunc(['-v', `${v}:/seed`, BUSYBOX, 'sh', '-c', 'echo from-runc > /seed/runc.txt']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(await ok(['exec', c, 'sh', '-c', 'cat /seed/runc.txt; echo from-vm > /seed/vm.txt']), 'from-runc\n');
    const r = await runRunc(['-v', `${v}:/seed`, BUSYBOX, 'cat', '/seed/vm.txt']);
    assert.equal(r.stdout, 'from-vm\n');
  });
});

describe('tmpfs, --read-only, --shm-size', () => {
  test('--tmpfs and --mount type=tmpfs get their size and mode; /dev/shm follows --shm-size', async () => {
    const r = await runVm([
      '--tmpfs',
      '/run:size=64m,mode=1777',
      '--mount',
      'type=tmpfs,dst=/t,tmpfs-size=16777216,tmpfs-mode=0700',
      '--shm-size',
      '32m',
      BUSYBOX,
      'sh',
      '-c',
      'stat -c "%n %a" /run /t; df -k /run /t /dev/shm | tail -3 | awk \'{print $1, $2, $6}\'; ' +
        'dd if=/dev/zero of=/t/fill bs=1M count=20 2>/dev/null || echo t-full; ' +
        // One /dev/shm, as runc's: no mount of the agent's own hidden under it.
        'grep " /dev/shm " /proc/mounts',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '/run 1777\n/t 700\ntmpfs 65536 /run\ntmpfs 16384 /t\nshm 32768 /dev/shm\nt-full\n' +
        'shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=32768k 0 0\n',
    );
  });

  test('--read-only: the root is read-only, volumes, tmpfs and RUNCVM_DISKS stay writable', async () => {
    const v = await volume('ro');
    const dir = tmpDir('robind');
    const r = await runVm([
      '--read-only',
      '-v',
      `${v}:/disks`,
      '-v',
      `${dir}:/b`,
      '--tmpfs',
      '/tt',
      '-e',
      'RUNCVM_DISKS=/disks/d,/seed,ext4,32M',
      SEED_IMAGE,
      'sh',
      '-c',
      'touch /x 2>/dev/null || echo root-ro; for d in /disks /b /tt /seed; do touch $d/w && echo "$d rw"; done; cat /seed/hello',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'root-ro\n/disks rw\n/b rw\n/tt rw\n/seed rw\nfrom-image\n');
  });
});

describe('RUNCVM_DISKS', () => {
  test('bad values are refused at create, naming the option and the allowed values', async () => {
    const r = await runVm(['-e', 'RUNCVM_DISKS=/disks/d,/data,xfs,1G', BUSYBOX, 'true']);
    assert.equal(r.code, 125);
    assert.match(
      r.stderr,
      /RUNCVM_DISKS: unknown filesystem "xfs" in "\/disks\/d,\/data,xfs,1G" \(allowed: ext4, ext3, ext2\)/,
    );
    const s = await runVm(['-e', 'RUNCVM_DISKS=/disks/d,/data', BUSYBOX, 'true']);
    assert.match(s.stderr, /RUNCVM_DISKS: "\/disks\/d,\/data" has 2 fields \(syntax: <src>,<dst>,<fs>\[,<size>\]/);
  });

  test("an ext4 disk is created on first use from dst's content, mounted by serial, and kept across restarts", async () => {
    const v = await volume('disk');
    const c = name('disk');
    const script =
      'grep " /seed " /proc/mounts | cut -d" " -f1,3; cat /seed/hello; cat /seed/p 2>/dev/null || echo first; ' +
      'echo persisted > /seed/p; df -k /seed | tail -1 | awk \'{print ($2 > 20000 && $2 < 33000) ? "size-ok" : $2}\'';
    const first = await docker([
      'run',
      '--name',
      c,
      ...RT,
      '-v',
      `${v}:/disks`,
      '-e',
      'RUNCVM_DISKS=/disks/data.img,/seed,ext4,32M',
      SEED_IMAGE,
      'sh',
      '-c',
      script,
    ]);
    assert.equal(first.code, 0, first.stderr);
    // vda unless an image root's layer drives come first.
    assert.match(first.stdout, /^\/dev\/vd[a-z] ext4\nfrom-image\nfirst\nsize-ok\n$/);
    const again = await ok(['start', '-a', c]);
    assert.match(again, /^\/dev\/vd[a-z] ext4\nfrom-image\npersisted\nsize-ok\n$/);
    // The backing file lives in the volume, as a plain ext4 image the host can read.
    const ls = await runRunc(['-v', `${v}:/disks`, BUSYBOX, 'stat', '-c', '%s', '/disks/data.img']);
    assert.equal(ls.stdout, `${32 << 20}\n`);
  });
});

describe('durability', () => {
  for (const how of ['stop', 'kill', 'rm -f'] as const) {
    test(`fsync'd data is on the host when docker ${how} returns (bind mount and RUNCVM_DISKS disk)`, async () => {
      const dir = tmpDir('dur');
      const disks = tmpDir('durdisk');
      const c = name('dur');
      await ok([
        'run',
        '-d',
        '--name',
        c,
        ...RT,
        '-v',
        `${dir}:/data`,
        '-v',
        `${disks}:/disks`,
        '-e',
        'RUNCVM_DISKS=/disks/d.img,/vol,ext4,32M',
        BUSYBOX,
        'sh',
        '-c',
        'trap "exit 0" TERM; dd if=/dev/urandom of=/data/f bs=64k count=32 conv=fsync 2>/dev/null; ' +
          'cp /data/f /vol/f && sync -d /vol/f 2>/dev/null || sync; md5sum /data/f /vol/f; echo synced; ' +
          'while :; do sleep 1; done',
      ]);
      const logs = await waitLog(c, /synced/);
      const sums = [...logs.matchAll(/^([0-9a-f]{32})\s/gm)].map((m) => m[1]);
      assert.equal(sums.length, 2, logs);
      assert.equal(sums[0], sums[1]);
      await ok(how === 'rm -f' ? ['rm', '-f', c] : [how, c]);
      assert.equal(md5(readFileSync(`${dir}/f`)), sums[0]);
      assert.equal(md5(readExt4File(`${disks}/d.img`, '/f')), sums[0]);
    });
  }
});

describe('a database on a named volume', () => {
  test('PostgreSQL keeps its rows across rm -f and a new container', async (t) => {
    if ((await docker(['image', 'inspect', POSTGRES])).code !== 0) {
      t.skip(`${POSTGRES} missing: run scripts/build-test-images.sh postgres`);
      return;
    }
    const v = await volume('pg');
    const start = async () => {
      const c = name('pg');
      await ok([
        'run',
        '-d',
        '--name',
        c,
        ...RT,
        '-m',
        '768m',
        '-v',
        `${v}:/var/lib/postgresql/data`,
        POSTGRES,
        'sh',
        '-c',
        '[ -s "$PGDATA/PG_VERSION" ] || initdb -A trust --no-sync >/dev/null || exit 1; exec postgres -c listen_addresses= -c unix_socket_directories=/tmp',
      ]);
      await until(
        'postgres to accept connections',
        async () => {
          const r = await docker(['exec', c, 'pg_isready', '-q', '-h', '/tmp']);
          if (r.code === 0) return true;
          const s = await docker(['inspect', '-f', '{{.State.Running}}', c]);
          if (s.stdout.trim() === 'false') {
            const st = await docker(['inspect', '-f', 'exit {{.State.ExitCode}} {{.State.Error}}', c]);
            throw new Error(`postgres stopped (${st.stdout.trim()}): ${(await docker(['logs', c])).stderr}`);
          }
          return undefined;
        },
        240_000,
      );
      return c;
    };
    const psql = (c: string, sql: string) => ok(['exec', c, 'psql', '-h', '/tmp', '-d', 'postgres', '-Atc', sql]);
    const c1 = await start();
    await psql(c1, 'CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000);');
    await ok(['rm', '-f', c1]);
    const c2 = await start();
    assert.equal(await psql(c2, 'SELECT count(*), sum(x) FROM t'), '1000|500500\n');
    await ok(['rm', '-f', c2]);
  });
});

describe('docker cp, diff, commit', () => {
  test('reflect what the guest wrote, in a running and a stopped container', async () => {
    const c = name('cp');
    const host = tmpDir('cp');
    writeFileSync(`${host}/in.txt`, 'copied in\n');
    await ok([
      'run',
      '-d',
      '--name',
      c,
      ...RT,
      BUSYBOX,
      'sh',
      '-c',
      'trap "exit 0" TERM; echo from-guest > /g.txt; mkdir /gdir; rm /etc/group; echo ready; sleep 600 & wait',
    ]);
    await waitLog(c, /ready/);
    // An image root's writes reach Docker's layer within the live write-back's bound (docs/storage.md).
    await until(
      'docker cp of /g.txt from the running container',
      async () => ((await docker(['cp', `${c}:/g.txt`, `${host}/out-running.txt`])).code === 0 ? true : undefined),
      IMAGE_ROOT ? 10_000 : 0,
    );
    assert.equal(readFileSync(`${host}/out-running.txt`, 'utf8'), 'from-guest\n');
    await ok(['cp', `${host}/in.txt`, `${c}:/in.txt`]);
    // An image root sees files copied into a running container only from its next start.
    if (!IMAGE_ROOT) assert.equal(await ok(['exec', c, 'cat', '/in.txt']), 'copied in\n');
    if (IMAGE_ROOT) await ok(['stop', c], { timeoutMs: 300_000 });
    const diff = (await ok(['diff', c])).split('\n');
    for (const want of ['A /g.txt', 'A /gdir', 'A /in.txt', 'D /etc/group'])
      assert.ok(diff.includes(want), `${want} in ${diff.join(', ')}`);
    await docker(['kill', c]);
    await ok(['cp', `${host}/in.txt`, `${c}:/in-stopped.txt`]);
    await ok(['cp', `${c}:/g.txt`, `${host}/out-stopped.txt`]);
    assert.equal(readFileSync(`${host}/out-stopped.txt`, 'utf8'), 'from-guest\n');
    const img = `${c}-img`;
    names.push(img);
    await ok(['commit', c, img]);
    try {
      const r = await runRunc([
        img,
        'sh',
        '-c',
        'cat /g.txt /in.txt /in-stopped.txt; [ -e /etc/group ] || echo no-group',
      ]);
      assert.equal(r.stdout, 'from-guest\ncopied in\ncopied in\nno-group\n');
    } finally {
      await docker(['rmi', '-f', img]);
    }
  });
});

describe('security: a root guest cannot reach host files outside its rootfs and volumes', () => {
  test('.., symlinks out of a volume, hard links, and forged file handles all stay inside', async () => {
    const secretDir = tmpDir('secret');
    const secret = join(secretDir, 'secret.txt');
    const marker = `host-secret-${process.pid}`;
    writeFileSync(secret, `${marker}\n`);
    const dir = tmpDir('esc');
    writeFileSync(`${dir}/f`, 'volume file\n');
    symlinkSync(secret, `${dir}/abs-link`);
    symlinkSync(`../../../../../../../..${secret}`, `${dir}/rel-link`);
    symlinkSync('/', `${dir}/root-link`);
    mkdirSync(`${dir}/sub`);
    const r = await runVm([
      '--cap-add',
      'ALL',
      '-v',
      `${dir}:/data`,
      SEED_IMAGE,
      'sh',
      '-c',
      [
        `cat /../../..${secret} /data/../../..${secret} /data/abs-link /data/rel-link /data/root-link${secret} 2>&1`,
        `ls /data/root-link${secretDir} 2>&1`,
        'echo pwned > /data/abs-link 2>&1; echo pwned > /data/rel-link 2>&1',
        `ln /data/abs-link /data/hard 2>&1; ln /etc/passwd /data/hard2 2>&1`,
        'cd /data/sub && cd ../../../.. && pwd && ls',
        'handles /data/f /data',
      ].join('; '),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(marker));
    assert.equal(readFileSync(secret, 'utf8'), `${marker}\n`);
    assert.equal(statSync(secret).nlink, 1);
    assert.equal(existsSync(`${dir}/hard2`), false, 'a hard link across mounts must fail');
    assert.match(r.stdout, /forged handles opened: 0/);
  });
});

describe('RUNCVM_VOLUMES=9p: volumes from the jailed 9P server on the private link', () => {
  const NINEP = [`--runtime=${RUNTIME}`, '-e', 'RUNCVM_VOLUMES=9p'];
  /** The server's address and port, from the guest's /proc/mounts line for `dst`. */
  const serverOf = (mounts: string, dst: string) => {
    const line = mounts.split('\n').find((l) => l.split(' ')[1] === dst && l.split(' ')[2] === '9p');
    assert.ok(line, `${dst} is a 9p mount in:\n${mounts}`);
    return line.split(' ')[0] as string;
  };
  const diodOf = async (server: string) =>
    (await run('ps', ['-eo', 'pid=,args='])).stdout.split('\n').filter((l) => l.includes(`-l ${server}:564`));

  test("binds, :ro, -u ownership, a single file, a named volume and Docker's /etc/hosts (live); written data is on the host at stop; nothing is left", async () => {
    const dir = tmpDir('9p-rw');
    const ro = tmpDir('9p-ro');
    writeFileSync(`${ro}/r`, 'read-only data\n');
    const single = join(tmpDir('9p-single'), 'single.conf');
    writeFileSync(single, 'line1\n');
    chmodSync(single, 0o666);
    const v = await volume('9p');
    const c = name('9p');
    await ok([
      'run',
      '-d',
      '--name',
      c,
      ...NINEP,
      '-v',
      `${dir}:/rw`,
      '-v',
      `${ro}:/ro:ro`,
      '-v',
      `${single}:/etc/single.conf`,
      '-v',
      `${v}:/seed`,
      SEED_IMAGE,
      'sh',
      '-c',
      'trap "exit 0" TERM; cat /ro/r /seed/hello /etc/single.conf; touch /ro/x 2>/dev/null || echo ro-denied; ' +
        'echo line2 >> /etc/single.conf; dd if=/dev/urandom of=/rw/f bs=64k count=16 conv=fsync 2>/dev/null; md5sum /rw/f; ' +
        'ip route | grep -c runcvm-vol; echo ready; while :; do sleep 1; done',
    ]);
    const logs = await waitLog(c, /ready/);
    // The link carries nothing but its own /30: one route on runcvm-vol.
    assert.match(logs, /^read-only data\nfrom-image\nline1\nro-denied\n([0-9a-f]{32}) {2}\/rw\/f\n1\nready\n$/);
    const mounts = await ok(['exec', c, 'cat', '/proc/mounts']);
    const server = serverOf(mounts, '/rw');
    for (const dst of ['/ro', '/seed', '/etc/single.conf', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname'])
      assert.equal(serverOf(mounts, dst), server);
    assert.match(mounts.split('\n').find((l) => l.split(' ')[1] === '/ro') as string, / ro,/);
    assert.equal(readFileSync(single, 'utf8'), 'line1\nline2\n');
    await ok(['exec', '-u', '1000:1000', c, 'sh', '-c', 'echo mine > /rw/by1000 && mkdir /rw/d1000']);
    for (const p of [`${dir}/by1000`, `${dir}/d1000`])
      assert.deepEqual([statSync(p).uid, statSync(p).gid], [1000, 1000], p);
    // Host-side edits are seen at once (no guest cache), including Docker rewriting /etc/hosts in place.
    writeFileSync(`${dir}/from-host`, 'host edit\n');
    const hostsPath = (await ok(['inspect', '-f', '{{.HostsPath}}', c])).trim();
    writeFileSync(hostsPath, `${readFileSync(hostsPath, 'utf8')}10.9.9.9 added-by-docker\n`);
    assert.equal(
      await ok(['exec', c, 'sh', '-c', 'cat /rw/from-host; grep added-by-docker /etc/hosts; echo unsynced > /rw/late']),
      'host edit\n10.9.9.9 added-by-docker\n',
    );
    assert.equal((await diodOf(server)).length, 1, 'one diod for the container');
    // No Node process stays for a 9P container: diod is the supervisor's helper (issue 15).
    const init = Number(await inspect(c, '{{.State.Pid}}'));
    assert.deepEqual(await untilNoNode(() => processTree(init)), [], 'a Node process stays resident');
    assert.ok(
      processTree(init).some((p) => p.endsWith(' diod')),
      `diod is not in the container: ${processTree(init).join(', ')}`,
    );
    // A namespace that outlives the container (a pod's, or one held as here): the link and its
    // firewall rule must go with the VM, not with the namespace.
    const holder = spawn('nsenter', ['-t', String(init), '-n', 'sleep', '600'], { stdio: 'ignore' });
    try {
      const inNs = async (cmd: string[]) => (await run('nsenter', ['-t', String(holder.pid), '-n', ...cmd])).stdout;
      await until('the holder in the namespace', async () =>
        (await inNs(['ip', '-br', 'link'])).includes('tap-vol-') ? true : undefined,
      );
      assert.match(await inNs(['iptables', '-S', 'INPUT']), new RegExp(`-d ${server}/32 ! -i tap-vol-`));
      await ok(['stop', c]);
      assert.equal(md5(readFileSync(`${dir}/f`)), /([0-9a-f]{32})/.exec(logs)?.[1]);
      assert.equal(readFileSync(`${dir}/late`, 'utf8'), 'unsynced\n');
      assert.deepEqual(await diodOf(server), [], 'diod stops with the VM');
      assert.doesNotMatch(await inNs(['ip', '-br', 'link']), /tap-vol-/, 'the volume tap is left');
      assert.doesNotMatch(await inNs(['iptables', '-S', 'INPUT']), new RegExp(server), 'the firewall rule is left');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  test('security: a root guest speaking raw 9P to its server reaches nothing outside its volumes; the server is unreachable from other containers and on eth0', async () => {
    const secretDir = tmpDir('9p-secret');
    const secret = join(secretDir, 'secret.txt');
    const marker = `host-secret-9p-${process.pid}`;
    writeFileSync(secret, `${marker}\n`);
    const dir = tmpDir('9p-esc');
    writeFileSync(`${dir}/f`, 'volume file\n');
    symlinkSync(secret, `${dir}/abs-link`);
    symlinkSync(`../../../../../../../..${secret}`, `${dir}/rel-link`);
    symlinkSync('/', `${dir}/root-link`);
    const c = name('9p-esc');
    await ok([
      'run',
      '-d',
      '--name',
      c,
      ...NINEP,
      '--cap-add',
      'ALL',
      '-v',
      `${dir}:/data`,
      SEED_IMAGE,
      'sh',
      '-c',
      'echo ready; while :; do sleep 1; done',
    ]);
    await waitLog(c, /ready/);
    const mounts = await ok(['exec', c, 'cat', '/proc/mounts']);
    const server = serverOf(mounts, '/data');
    const aname = /aname=([^, ]+)/.exec(
      mounts.split('\n').find((l) => l.split(' ')[1] === '/data') as string,
    )?.[1] as string;
    // The kernel client first (it never sends `..` past the mount root), then the raw protocol.
    const r = await docker([
      'exec',
      c,
      'sh',
      '-c',
      [
        `cat /data/../../..${secret} /data/abs-link /data/rel-link /data/root-link${secret} 2>&1`,
        'echo pwned > /data/abs-link 2>&1; ln /etc/passwd /data/hard 2>&1',
        `p9probe ${server} 564 ${aname} ${secret}`,
      ].join('; '),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(marker));
    assert.equal(readFileSync(secret, 'utf8'), `${marker}\n`);
    assert.equal(existsSync(`${dir}/hard`), false);
    // The probe did reach the server: the control read works, every escape and the write are refused.
    assert.match(r.stdout, /control f: READ volume file/);
    for (const a of ['dotdot', 'slash name', 'absolute name', 'abs-link', 'rel-link', 'through root-link']) {
      assert.match(
        r.stdout,
        new RegExp(`^${a}: (walked \\d+ of \\d+ names; )?(walk|open) refused`, 'm'),
        `${a} in:\n${r.stdout}`,
      );
    }
    assert.match(r.stdout, /^attach \/: refused/m);
    assert.match(r.stdout, /create in server root: refused/);
    // The jail holds diod's own files and the exports, nothing of the host's filesystem.
    const root = /^server root: (.*)$/m.exec(r.stdout)?.[1]?.split(' ').filter(Boolean) ?? [];
    assert.ok(
      root.includes('v') && root.every((e) => ['.', '..', 'etc', 'f', 'lib', 'lib64', 'usr', 'v'].includes(e)),
      root.join(' '),
    );
    // Another container on the same network: neither the link address (routed via this
    // container's IP, or asked on-link) nor this container's eth0 address serves 9P.
    const ip = (await ok(['inspect', '-f', '{{.NetworkSettings.IPAddress}}', c])).trim();
    const probe = await runRunc([
      '--cap-add',
      'NET_ADMIN',
      BUSYBOX,
      'sh',
      '-c',
      [
        `ip route add ${server}/32 via ${ip}; nc -w 3 ${server} 564 </dev/null && echo via-reached || echo via-refused`,
        `ip route replace ${server}/32 dev eth0; nc -w 3 ${server} 564 </dev/null && echo onlink-reached || echo onlink-refused`,
        `nc -w 3 ${ip} 564 </dev/null && echo eth0-reached || echo eth0-refused`,
      ].join('; '),
    ]);
    assert.equal(probe.stdout, 'via-refused\nonlink-refused\neth0-refused\n', probe.stderr);
  });

  test('--network host is refused at create, naming the option', async () => {
    const r = await runVmDefault(['-e', 'RUNCVM_VOLUMES=9p', '--network', 'host', BUSYBOX, 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /RUNCVM_VOLUMES=9p: needs the container's own network namespace/);
  });
});

after(async () => {
  for (const n of names) await docker(['rm', '-f', n]);
  for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  await docker(['rmi', '-f', SEED_IMAGE]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // Other suites may run VMs at the same time: only a VM whose container is gone is a leftover.
  const running = (await docker(['ps', '-q', '--no-trunc'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((id) => id.slice(0, 12));
  const orphans = (await leftovers()).filter(
    (l) => /qemu-system/.test(l) && !running.some((id) => l.includes(`-name runcvm-${id} `)),
  );
  assert.deepEqual(orphans, [], 'no VM may outlive its container');
});
