/**
 * `docker run --runtime=runcvm`: the workload runs in a VM with its own kernel, with Docker's
 * stdio, exit-status and process semantics.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_KERNEL } from '../../src/runtime/options.ts';
import {
  BUSYBOX,
  DEBIAN,
  docker,
  E2E_KERNEL,
  hostConfig,
  leftovers,
  PREFIX,
  RUNTIME,
  runRunc,
  runVm,
  uniqueName,
} from './docker.ts';

/** Tagged per run: a parallel run's cleanup (after()) cannot remove it from under this one. */
const ENTRY_IMAGE = `runcvm-e2e-entrypoint:${process.pid}`;

before(async () => {
  const dockerfile = `FROM ${BUSYBOX}\nENV GREETING=from-image\nENTRYPOINT ["echo","ep"]\nCMD ["default-cmd"]\n`;
  const r = await docker(['build', '-q', '-t', ENTRY_IMAGE, '-'], { input: dockerfile });
  assert.equal(r.code, 0, r.stderr);
});

describe('the VM', () => {
  test('runs the guest kernel, not the host one', async () => {
    const r = await runVm([BUSYBOX, 'uname', '-r']);
    assert.equal(r.code, 0, r.stderr);
    const guest = readFileSync(`${PREFIX}/kernels/${E2E_KERNEL || DEFAULT_KERNEL}/kernel.release`, 'utf8').trim();
    assert.equal(r.stdout.trim(), guest);
    assert.notEqual(r.stdout.trim(), readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  });

  test('the workload is PID 1 of its PID namespace', async () => {
    const r = await runVm([BUSYBOX, 'sh', '-c', 'echo $$; ps -o pid,comm | wc -l']);
    assert.equal(r.code, 0, r.stderr);
    const [pid, lines] = r.stdout.trim().split('\n');
    assert.equal(pid, '1');
    // header + sh + ps + wc: the agent and kernel threads are not visible.
    assert.ok(Number(lines) <= 5, r.stdout);
  });

  test('uses KVM when the install found it usable, else TCG', async () => {
    const r = await runVm([BUSYBOX, 'cat', '/proc/cpuinfo']);
    assert.equal(r.code, 0, r.stderr);
    if (hostConfig().kvm.usable) assert.doesNotMatch(r.stdout, /TCG/);
    else assert.match(r.stdout, /QEMU TCG CPU|model name\s*:\s*QEMU/);
  });
});

describe('stdio', () => {
  test('stdout and stderr stay separate and nothing from the boot leaks', async () => {
    const r = await runVm([BUSYBOX, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  test('output written right before exit is complete', async () => {
    const r = await runVm([BUSYBOX, 'sh', '-c', 'seq 1 200000; printf tail-no-newline; printf E >&2; exit 4']);
    assert.equal(r.code, 4);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 200001);
    assert.equal(lines[199999], '200000');
    assert.equal(lines[200000], 'tail-no-newline');
    assert.equal(r.stderr, 'E');
  });

  test('stdin reaches the workload and its EOF too', async () => {
    const r = await runVm(['-i', BUSYBOX, 'sh', '-c', 'wc -l; echo after-eof'], { input: 'a\nb\nc\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/ +/g, ''), '3\nafter-eof\n');
  });
});

describe('exit status', () => {
  test('exit 3 is returned and recorded by docker inspect', async () => {
    const name = uniqueName('exit');
    try {
      const r = await docker(['run', '--name', name, `--runtime=${RUNTIME}`, BUSYBOX, 'sh', '-c', 'exit 3']);
      assert.equal(r.code, 3, r.stderr);
      const i = await docker(['inspect', '-f', '{{.State.ExitCode}} {{.State.Status}}', name]);
      assert.equal(i.stdout.trim(), '3 exited');
    } finally {
      await docker(['rm', '-f', name]);
    }
  });

  test('a workload killed by a signal returns 128+N, as with runc', async () => {
    // With --init the shell is not its namespace's PID 1, so SIGKILL to itself is not ignored.
    const args = ['--init', BUSYBOX, 'sh', '-c', 'kill -9 $$'];
    const [vm, runc] = await Promise.all([runVm(args), runRunc(args)]);
    assert.equal(runc.code, 137);
    assert.equal(vm.code, 137, vm.stderr);
    const term = await runVm(['--init', BUSYBOX, 'sh', '-c', 'kill -TERM $$']);
    assert.equal(term.code, 143);
  });

  test("a command missing from the image fails like runc: 127 and Docker's message", async () => {
    const [vm, runc] = await Promise.all([runVm([BUSYBOX, 'no-such-cmd']), runRunc([BUSYBOX, 'no-such-cmd'])]);
    assert.equal(runc.code, 127);
    assert.equal(vm.code, 127);
    assert.match(vm.stderr, /exec: "no-such-cmd": executable file not found in \$PATH/);
    const abs = await runVm([BUSYBOX, '/etc/passwd']);
    assert.equal(abs.code, 126);
    assert.match(abs.stderr, /permission denied/);
  });
});

describe('the OCI process', () => {
  test('image ENTRYPOINT and CMD, CMD override and --entrypoint', async () => {
    assert.equal((await runVm([ENTRY_IMAGE])).stdout, 'ep default-cmd\n');
    assert.equal((await runVm([ENTRY_IMAGE, 'x', 'y'])).stdout, 'ep x y\n');
    const r = await runVm(['--entrypoint', 'sh', ENTRY_IMAGE, '-c', 'echo "$GREETING"']);
    assert.equal(r.stdout, 'from-image\n');
  });

  test('-e, --env-file and image ENV', async () => {
    const file = `/tmp/runcvm-e2e-env-${process.pid}`;
    writeFileSync(file, 'FROM_FILE=file value\n');
    try {
      const env = await runVm(['-e', 'A=1', '--env-file', file, '--entrypoint', 'env', ENTRY_IMAGE]);
      assert.equal(env.code, 0, env.stderr);
      const lines = env.stdout.split('\n');
      for (const want of ['A=1', 'FROM_FILE=file value', 'GREETING=from-image', 'PATH=/bin'])
        assert.ok(lines.includes(want), `${want} in ${env.stdout}`);
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('-w and -u uid:gid', async () => {
    const r = await runVm(['-w', '/tmp', '-u', '1234:5678', BUSYBOX, 'sh', '-c', 'pwd; id -u; id -g']);
    assert.equal(r.stdout, '/tmp\n1234\n5678\n');
  });

  test("-u name resolves the image's passwd and group, supplementary groups included", async () => {
    const [vm, runc] = await Promise.all([
      runVm(['-u', 'alice', BUSYBOX, 'id']),
      runRunc(['-u', 'alice', BUSYBOX, 'id']),
    ]);
    assert.equal(vm.stdout, runc.stdout);
    assert.match(vm.stdout, /uid=1001\(alice\) gid=1001\(alice\) groups=.*44\(video\).*50\(staff\)/);
  });

  test('--hostname, and /etc/hosts and /etc/resolv.conf exactly as Docker wrote them', async () => {
    const name = uniqueName('files');
    try {
      const r = await docker([
        'run',
        '--name',
        name,
        `--runtime=${RUNTIME}`,
        '--hostname',
        'vmhost',
        '--add-host',
        'extra:10.1.2.3',
        '--dns-search',
        'example.test',
        BUSYBOX,
        'sh',
        '-c',
        'hostname; cat /etc/hosts; echo ---; cat /etc/resolv.conf',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [hostname, rest] = [r.stdout.split('\n')[0], r.stdout.split('\n').slice(1).join('\n')];
      assert.equal(hostname, 'vmhost');
      const paths = await docker(['inspect', '-f', '{{.HostsPath}} {{.ResolvConfPath}}', name]);
      const [hostsPath, resolvPath] = paths.stdout.trim().split(' ') as [string, string];
      assert.equal(rest, `${readFileSync(hostsPath, 'utf8')}---\n${readFileSync(resolvPath, 'utf8')}`);
      assert.match(rest, /10\.1\.2\.3\textra/);
    } finally {
      await docker(['rm', '-f', name]);
    }
  });

  test('a Debian image with a named user', async () => {
    const r = await runVm(['-u', 'bob', DEBIAN, 'sh', '-c', 'id; echo "$HOME"; . /etc/os-release; echo "$ID"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'uid=1002(bob) gid=1002(bob) groups=1002(bob),29(audio)\n/home/bob\ndebian\n');
  });
});

describe("Docker's mounts (basic; storage is covered in depth separately)", () => {
  test('a bind mount is live both ways, :ro and --read-only are enforced, --tmpfs has its size', async () => {
    const dir = mkdtempSync('/tmp/runcvm-e2e-bind-');
    try {
      writeFileSync(`${dir}/from-host`, 'host data\n');
      mkdirSync(`${dir}/rw`);
      const r = await runVm([
        '--read-only',
        '-v',
        `${dir}:/ro:ro`,
        '-v',
        `${dir}/rw:/rw`,
        '--tmpfs',
        '/scratch:size=8m',
        BUSYBOX,
        'sh',
        '-c',
        'cat /ro/from-host; echo guest > /rw/from-guest; touch /ro/x 2>/dev/null || echo ro-denied; ' +
          'touch /rootfile 2>/dev/null || echo root-ro; touch /scratch/t && df -k /scratch | tail -1',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.deepEqual(lines.slice(0, 3), ['host data', 'ro-denied', 'root-ro']);
      assert.match(lines[3] ?? '', /^tmpfs\s+8192\s/);
      assert.equal(readFileSync(`${dir}/rw/from-guest`, 'utf8'), 'guest\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

after(async () => {
  await docker(['rmi', '-f', ENTRY_IMAGE]);
  assert.deepEqual(await leftovers(), [], 'no qemu, virtiofsd or launcher may outlive its container');
});
