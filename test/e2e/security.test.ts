/**
 * The VM boundary (docs/security.md): a hostile guest, a hostile VMM and hostile options cannot
 * reach the host. A compromised VMM is simulated by running commands with exactly the launcher's
 * credentials: `runc exec` into the container applies the same capabilities, seccomp profile,
 * no-new-privileges, device cgroup, namespaces and mounts as the launcher (and so QEMU) has.
 */

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUSYBOX_REF, type Containerd, RUNTIME_BINARY, startContainerd } from './containerd.ts';
import { BUSYBOX, docker, inspect, PREFIX, type Result, RUNTIME, run, runVm, uniqueName, until } from './docker.ts';

/** Where Docker's shim keeps runc's state for our runtime: the one that knows the container. */
async function runcRoot(id: string): Promise<string> {
  for (const root of [
    `/var/run/docker/runtime-${RUNTIME}/moby`,
    '/var/run/docker/runtime-runc/moby',
    '/run/containerd/runc/moby',
  ]) {
    if ((await run('runc', ['--root', root, 'state', id])).code === 0) return root;
  }
  throw new Error(`no runc root knows container ${id}`);
}

/** A shell with the launcher's credentials in container `name` (a compromised QEMU's view). */
async function asLauncher(name: string, script: string): Promise<Result> {
  const id = await inspect(name, '{{.Id}}');
  return run('runc', ['--root', await runcRoot(id), 'exec', id, 'sh', '-c', script], { timeoutMs: 60_000 });
}

async function startVm(name: string, args: string[]): Promise<void> {
  const r = await docker([
    'run',
    '-d',
    '--name',
    name,
    `--runtime=${RUNTIME}`,
    ...args,
    BUSYBOX,
    'sh',
    '-c',
    'echo ready; sleep 600',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await until(`${name} to boot`, async () =>
    (await docker(['logs', name])).stdout.includes('ready') ? true : undefined,
  );
}

/** The first block device of the host, as /proc/partitions lists it. */
function hostDisk(): { major: number; minor: number; name: string } {
  const line = readFileSync('/proc/partitions', 'utf8')
    .split('\n')
    .slice(2)
    .find((l) => l.trim());
  const [major, minor, , name] = (line ?? '').trim().split(/\s+/);
  return { major: Number(major), minor: Number(minor), name: name ?? '?' };
}

for (const privileged of [false, true]) {
  const flags = privileged
    ? ['--privileged', '--pid', 'host', '--ipc', 'host', '--cap-add', 'ALL', '--security-opt', 'seccomp=unconfined']
    : [];
  describe(`a compromised VMM${privileged ? ' (--privileged --pid host --cap-add ALL seccomp=unconfined)' : ''}`, () => {
    const name = uniqueName(privileged ? 'sec-priv' : 'sec');
    before(() => startVm(name, flags));
    after(() => docker(['rm', '-f', name]));

    test('cannot make and read a host disk node', async () => {
      const d = hostDisk();
      // runc allows mknod of any node (its default "m" rules); the device cgroup refuses the open.
      // In /dev: the launcher's /tmp and /run are nodev anyway.
      const r = await asLauncher(
        name,
        `mknod /dev/runcvm-disk b ${d.major} ${d.minor}; head -c 512 /dev/runcvm-disk >/tmp/out && wc -c </tmp/out`,
      );
      assert.notEqual(r.code, 0, `read ${d.name} (${d.major}:${d.minor}): ${r.stdout}`);
      assert.match(r.stderr, /Operation not permitted|Permission denied/);
    });

    test("cannot write the host kernel's core_pattern or uevent_helper", async () => {
      const before = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
      for (const file of ['/proc/sys/kernel/core_pattern', '/sys/kernel/uevent_helper']) {
        const r = await asLauncher(name, `echo '|/tmp/pwn' > ${file}`);
        assert.notEqual(r.code, 0, `${file} written`);
      }
      assert.equal(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
    });

    test('cannot create namespaces (user, mount, network, pid)', async () => {
      for (const ns of ['-U', '-m', '-n', '-p -f', '-U -r']) {
        const r = await asLauncher(name, `unshare ${ns} true`);
        assert.notEqual(r.code, 0, `unshare ${ns} succeeded`);
      }
    });

    test("sees no host process, no host socket and no other container's run dir", async () => {
      const victim = uniqueName('sec-victim');
      await startVm(victim, []);
      try {
        const pid = await inspect(victim, '{{.State.Pid}}');
        const r = await asLauncher(
          name,
          [
            'tr "\\0" " " </proc/1/cmdline; echo',
            `test -e /proc/${pid}/root/run/runcvm/qmp.sock && echo REACHED-VICTIM`,
            'for s in /var/run/docker.sock /run/docker.sock /run/containerd/containerd.sock /var/run/docker/containerd/containerd.sock; do test -e $s && echo HOST-SOCKET $s; done',
            'kill -0 1 2>/dev/null; true',
          ].join('; '),
        );
        assert.match(r.stdout, /runcvm-init/, "PID 1 of the launcher's namespace is its own init");
        assert.doesNotMatch(r.stdout, /REACHED-VICTIM|HOST-SOCKET/);
      } finally {
        await docker(['rm', '-f', victim]);
      }
    });
  });
}

describe('a compromised VMM with --network host', () => {
  for (const privileged of [false, true]) {
    test(`cannot add an interface to the host's network namespace${privileged ? ' (--privileged)' : ''}`, async () => {
      const name = uniqueName('sec-host');
      const ifname = `rcvsec${process.pid % 10000}`;
      await startVm(name, ['--network', 'host', ...(privileged ? ['--privileged'] : [])]);
      try {
        // bridge: built into every Docker host (dummy may be a module the launcher cannot load).
        const r = await asLauncher(name, `ip link add ${ifname} type bridge`);
        assert.notEqual(r.code, 0, 'interface added');
        assert.notEqual((await run('ip', ['link', 'show', ifname])).code, 0, `${ifname} exists on the host`);
      } finally {
        await run('ip', ['link', 'del', ifname]);
        await docker(['rm', '-f', name]);
      }
    });
  }
});

describe('a root guest', () => {
  test('cannot make a --read-only root writable by remounting it', async () => {
    const name = uniqueName('sec-ro');
    try {
      const r = await docker([
        'run',
        '--name',
        name,
        `--runtime=${RUNTIME}`,
        '--read-only',
        BUSYBOX,
        'sh',
        '-c',
        'mount -o remount,rw / && echo remounted; echo x > /pwned && echo WRITTEN; true',
      ]);
      assert.doesNotMatch(r.stdout, /WRITTEN/);
      assert.doesNotMatch((await docker(['diff', name])).stdout, /pwned/);
    } finally {
      await docker(['rm', '-f', name]);
    }
  });
});

describe('symlinks planted by a compromised VMM', () => {
  test('in every directory of the image root the launcher can write: a restart changes no host file', async () => {
    const name = uniqueName('sec-plant');
    const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-victim-'));
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'host file, must not change\n');
    try {
      await startVm(name, ['-e', 'RUNCVM_ROOTFS=image']);
      // Every name host-root code creates, opens or removes there (src/rootfs/image-root.ts),
      // and the live drive itself.
      const names = ['upper.ext4.tmp', 'diff.ext4', 'init.ext4', 'diff.ext4.tmp', 'init.ext4.tmp', 'upper.ext4'];
      const r = await asLauncher(
        name,
        `cd /.runcvm-disks && for n in ${names.join(' ')}; do rm -f $n.x; mv -f $n $n.x 2>/dev/null; ln -s ${victim} $n || exit 1; done; ls -l`,
      );
      assert.equal(r.code, 0, r.stderr);
      await docker(['stop', '-t', '1', name]);
      await docker(['start', name]);
      assert.equal(readFileSync(victim, 'utf8'), 'host file, must not change\n');
    } finally {
      await docker(['rm', '-f', name]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('links planted by a compromised VMM for host-root tools (debug, metrics, the host log)', () => {
  test('runcvm debug, metrics and debug --log never follow a link the launcher planted to a host socket or file', async () => {
    const name = uniqueName('sec-tools');
    const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-lure-'));
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'host file, must not change or leak\n');
    // A host socket that must never see a connection.
    const lure = join(dir, 'lure.sock');
    let connections = 0;
    const server = createServer((c) => {
      connections++;
      c.destroy();
    });
    await new Promise<void>((r) => server.listen(lure, r));
    try {
      await startVm(name, []);
      const r = await asLauncher(
        name,
        [
          `cd /run/runcvm && mv exec.sock exec.sock.x && ln -s ${lure} exec.sock && mv qmp.sock qmp.sock.x && ln -s ${lure} qmp.sock`,
          `cd /run/runcvm-log && for n in runcvm.log runcvm.log.1 runcvm.log.2; do rm -f $n; ln -s ${victim} $n || exit 1; done`,
        ].join(' && '),
      );
      assert.equal(r.code, 0, r.stderr);
      const dbg = await run(`${PREFIX}/bin/runcvm`, ['debug', name, 'true']);
      assert.equal(dbg.code, 1);
      assert.match(dbg.stderr, /exec socket .*is not a socket/);
      const m = await run(`${PREFIX}/bin/runcvm`, ['metrics']);
      assert.equal(m.code, 0, m.stderr);
      const id = await inspect(name, '{{.Id}}');
      assert.doesNotMatch(m.stdout, new RegExp(`^runcvm_vm_guest_memory_total_bytes\\{container="${id}"`, 'm'));
      const log = await run(`${PREFIX}/bin/runcvm`, ['debug', '--log', name]);
      assert.doesNotMatch(log.stdout, /must not change/);
      // create writes the log again at a restart: through none of the links.
      await docker(['stop', '-t', '1', name]);
      await docker(['start', name]);
      assert.equal(readFileSync(victim, 'utf8'), 'host file, must not change or leak\n');
      assert.equal(connections, 0);
    } finally {
      server.close();
      await docker(['rm', '-f', name]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('host-only options', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-sec-'));
  const marker = join(dir, 'ran-as-host-root');
  const script = join(dir, 'fake-firecracker.sh');
  writeFileSync(script, `#!/bin/sh\ntouch ${marker}\necho Firecracker v1.16.1\n`);
  chmodSync(script, 0o755);
  const image = `runcvm-e2e-sec-env:${process.pid}`;
  const HOST_ONLY = [
    ['RUNCVM_FIRECRACKER', script],
    ['RUNCVM_CACHE_MAX', '0'],
    ['RUNCVM_JAILER', '0'],
  ];
  after(async () => {
    await docker(['rmi', '-f', image]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('from -e: refused with the setting to use, and nothing runs on the host', async () => {
    for (const [k, v] of HOST_ONLY) {
      const r = await runVm([
        '-e',
        'RUNCVM_HYPERVISOR=firecracker',
        '-e',
        'RUNCVM_ACCEL=kvm',
        '-e',
        `${k}=${v}`,
        BUSYBOX,
        'true',
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`${k}: a host setting, not a container option.*${PREFIX}/etc/config.json`));
    }
    assert.equal(existsSync(marker), false, "the container's binary ran as host root");
  });

  test("from an image's ENV: refused the same way", async () => {
    const b = await docker(['build', '-q', '-t', image, '-'], {
      input: `FROM ${BUSYBOX}\nENV RUNCVM_HYPERVISOR=firecracker RUNCVM_ACCEL=kvm RUNCVM_FIRECRACKER=${script}\n`,
      timeoutMs: 120_000,
    });
    assert.equal(b.code, 0, b.stderr);
    const r = await runVm([image, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /RUNCVM_FIRECRACKER: a host setting, not a container option/);
    assert.equal(existsSync(marker), false);
  });

  describe('under containerd (ctr), where the bundle is the working directory', () => {
    let c: Containerd;
    before(async () => {
      c = await startContainerd('sec');
    });
    after(() => c?.stop());

    test('a relative path naming a file of the image is refused', async () => {
      const r = await c.ctr(
        [
          'run',
          '--rm',
          '--runc-binary',
          RUNTIME_BINARY,
          '--env',
          'RUNCVM_HYPERVISOR=firecracker',
          '--env',
          'RUNCVM_ACCEL=kvm',
          '--env',
          'RUNCVM_FIRECRACKER=rootfs/bin/sh',
          BUSYBOX_REF,
          'sec-relative',
          'true',
        ],
        { timeoutMs: 120_000 },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /RUNCVM_FIRECRACKER: a host setting, not a container option/);
    });
  });
});
