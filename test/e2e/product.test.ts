/**
 * Operating runcvm: versions (runcvm, its runtime, the guest agent, the runc it wraps), help for
 * every command, and doctor against the real install: real binaries, real dockerd, real VMs.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/agent-protocol/frame.ts';
import { BUSYBOX, docker, hostConfig, PREFIX, RUNTIME, run, runVm, uniqueName, until } from './docker.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const RUNCVM = `${PREFIX}/bin/runcvm`;
const DISPATCHER = `${PREFIX}/bin/runcvm-runtime`;

interface Report {
  ok: boolean;
  runcvm: string;
  checks: { name: string; status: string; message: string; fix?: string }[];
}

describe('versions', () => {
  test('runcvm --version prints the package version', async () => {
    const r = await run(RUNCVM, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `runcvm version ${VERSION}\n`);
  });

  test("runcvm-runtime --version: runcvm's line, then exactly what the wrapped runc prints", async () => {
    const runc = await run(hostConfig().runc, ['--version']);
    for (const args of [['--version'], ['-v'], ['--root', '/run/x', '--version']]) {
      const r = await run(DISPATCHER, args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `runcvm-runtime version ${VERSION}\n${runc.stdout}`, args.join(' '));
    }
  });

  test('runcvm version names the guest agent in the installed initramfs, and the agent says the same in HELLO', async () => {
    const r = await run(RUNCVM, ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^runcvm version ${VERSION}\\nruncvm-agent version ${VERSION}\\nrunc version `));
    const vm = await runVm(['-e', 'RUNCVM_RUNTIME_DEBUG=1', BUSYBOX, 'true']);
    assert.equal(vm.code, 0, vm.stderr);
    assert.match(
      vm.stderr,
      new RegExp(`^runcvm: guest agent: runcvm-agent ${VERSION} \\(protocol ${PROTOCOL_VERSION}\\)$`, 'm'),
    );
  });
});

describe('help', () => {
  for (const cmd of [
    'install',
    'uninstall',
    'doctor',
    'ps',
    'metrics',
    'version',
    'cache',
    'podman-config',
    'runtime',
    'launcher',
  ]) {
    test(`runcvm ${cmd} --help and runcvm help ${cmd} print the same usage`, async () => {
      const a = await run(RUNCVM, [cmd, '--help']);
      const b = await run(RUNCVM, ['help', cmd]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.match(a.stdout, new RegExp(`^usage: runcvm ${cmd}`, 'm'));
      assert.equal(a.stdout, b.stdout);
    });
  }

  test('an unknown command or help topic fails with the command list', async () => {
    for (const args of [['frobnicate'], ['help', 'frobnicate']]) {
      const r = await run(RUNCVM, args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^runcvm: unknown command "frobnicate"\n/);
      assert.match(r.stderr, /^ {2}doctor +check everything/m);
    }
  });
});

describe('doctor', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'runcvm-product-doctor-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('on this host: exit 0, every start prerequisite present, the runtime registered with dockerd', async () => {
    const r = await run(RUNCVM, ['doctor', '--json']);
    assert.equal(r.code, 0, r.stdout);
    const rep = JSON.parse(r.stdout) as Report;
    assert.equal(rep.ok, true);
    assert.equal(rep.runcvm, VERSION);
    const status = new Map(rep.checks.map((c) => [c.name, c.status]));
    for (const name of ['runtime', 'runc', 'node', 'qemu', 'virtiofsd', 'net/tun', 'cgroup', 'guest:debian', 'docker'])
      assert.equal(status.get(name), 'ok', name);
    assert.equal(status.get('kvm'), hostConfig().kvm.usable ? 'ok' : 'warn');
    assert.match(
      rep.checks.find((c) => c.name === 'docker')?.message as string,
      new RegExp(`runtime (.*, )?"${RUNTIME}"`),
    );
    const text = await run(RUNCVM, ['doctor']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^OK +qemu +\/usr\/bin\/qemu-system-x86_64: \d+\.\d+/m);
    assert.match(text.stdout, /^ready: runcvm containers can start here/m);
  });

  test('a prefix without runcvm, or with a guest missing its initramfs: exit 1, each failure with its fix', async () => {
    const none = await run(RUNCVM, ['doctor', '--prefix', join(tmp, 'none')]);
    assert.equal(none.code, 1);
    assert.match(
      none.stdout,
      /^FAIL +runtime +runcvm-runtime is not installed under this prefix\n +fix: runcvm install/m,
    );
    // A copy of the install whose guest lost its initramfs.
    const p = join(tmp, 'broken');
    for (const d of ['bin', 'etc', 'kernels/debian']) mkdirSync(join(p, d), { recursive: true });
    copyFileSync(DISPATCHER, join(p, 'bin', 'runcvm-runtime'));
    copyFileSync(`${PREFIX}/etc/host.json`, join(p, 'etc', 'host.json'));
    copyFileSync(`${PREFIX}/kernels/debian/vmlinux`, join(p, 'kernels/debian/vmlinux'));
    const r = await run(RUNCVM, ['doctor', '--json', '--prefix', p]);
    assert.equal(r.code, 1);
    const guest = (JSON.parse(r.stdout) as Report).checks.find((c) => c.name === 'guest:debian');
    assert.equal(guest?.status, 'fail');
    assert.match(guest?.message as string, /missing or empty: initramfs\.cpio/);
    assert.match(guest?.fix as string, /runcvm install --guest DIR/);
  });
});

describe('ps and metrics', { timeout: 300_000 }, () => {
  test('runcvm ps and metrics show a running VM with its backend, accelerator, size and live host processes; gone after rm', async () => {
    const name = uniqueName('product-ps');
    const d = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '--cpus',
      '2',
      '-m',
      '256m',
      BUSYBOX,
      'sleep',
      '600',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    try {
      interface Vm {
        containerId: string;
        name?: string;
        hypervisor: string;
        accel: string;
        cpus: number;
        memoryMiB: number;
        uptimeSeconds: number;
        processes: { pid: number; name: string }[];
      }
      const vm = await until('the VM in runcvm ps', async () => {
        const r = await run(RUNCVM, ['ps', '--json']);
        assert.equal(r.code, 0, r.stderr);
        const v = (JSON.parse(r.stdout) as Vm[]).find((x) => x.containerId === id);
        return v?.processes.some((p) => p.name.startsWith('qemu')) ? v : undefined;
      });
      assert.equal(vm.name, name);
      assert.equal(vm.hypervisor, 'qemu');
      assert.equal(vm.accel, hostConfig().kvm.usable ? 'kvm' : 'tcg');
      assert.deepEqual([vm.cpus, vm.memoryMiB], [2, 256]);
      assert.ok(vm.uptimeSeconds >= 0 && vm.uptimeSeconds < 300);
      for (const p of vm.processes)
        assert.ok(readFileSync(`/proc/${p.pid}/cmdline`).length > 0, `pid ${p.pid} (${p.name}) is alive`);
      assert.deepEqual(
        vm.processes
          .map((p) => p.name)
          .filter((n) => /^(launcher|virtiofsd|qemu)/.test(n))
          .map((n) => n.replace(/^qemu.*/, 'qemu'))
          .sort(),
        ['launcher', 'qemu', 'virtiofsd'],
      );
      const m = await run(RUNCVM, ['metrics']);
      assert.equal(m.code, 0, m.stderr);
      assert.match(
        m.stdout,
        new RegExp(`^runcvm_vm_info\\{container="${id}",name="${name}",backend="qemu",accel="(kvm|tcg)"\\} 1$`, 'm'),
      );
      assert.match(m.stdout, new RegExp(`^runcvm_vm_vcpus\\{container="${id}"\\} 2$`, 'm'));
      assert.match(m.stdout, new RegExp(`^runcvm_vm_memory_bytes\\{container="${id}"\\} ${256 * 1024 * 1024}$`, 'm'));
      const rss = Number(
        new RegExp(`^runcvm_vm_host_rss_bytes\\{container="${id}"\\} (\\d+)$`, 'm').exec(m.stdout)?.[1],
      );
      assert.ok(rss > 10 * 1024 * 1024, `host RSS ${rss}`);
      // --listen serves the same text over HTTP.
      const server = spawn(RUNCVM, ['metrics', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      try {
        let err = '';
        server.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        const url = await until('the metrics server', () => /serving (http:\/\/\S+)/.exec(err)?.[1], 30_000);
        const body = await (await fetch(url)).text();
        assert.match(body, new RegExp(`^runcvm_vm_vcpus\\{container="${id}"\\} 2$`, 'm'));
      } finally {
        server.kill('SIGTERM');
      }
      const table = await run(RUNCVM, ['ps']);
      assert.match(table.stdout, new RegExp(`^${id.slice(0, 12)}  ${name} +qemu +(kvm|tcg) +2 +256M `, 'm'));
    } finally {
      await docker(['rm', '-f', name]);
    }
    const after = await run(RUNCVM, ['ps', '--json']);
    assert.ok(!(JSON.parse(after.stdout) as { containerId: string }[]).some((v) => v.containerId === id));
  });
});

describe('cache build', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-product-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('runcvm cache build IMAGE shows its steps and caches the file under the key create uses', async () => {
    const b = await run(RUNCVM, ['cache', 'build', BUSYBOX, '--dir', dir]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^\[1\/3\] runcvm-test\/busybox \([0-9a-f]{12}\): \d+ layer\(s\), [\d.]+ MiB$/m);
    const key = /^\[3\/3\] cached ([0-9a-f]{12}), [\d.]+ MiB in [\d.]+ s: /m.exec(b.stdout)?.[1];
    assert.ok(key, b.stdout);
    const again = await run(RUNCVM, ['cache', 'build', BUSYBOX, '--dir', dir]);
    assert.match(again.stdout, new RegExp(`^\\[3/3\\] already cached: ${key}`, 'm'));
    // create, with the image root, computes the same key in the host's cache.
    const vm = await runVm(['-e', 'RUNCVM_ROOTFS=image', BUSYBOX, 'true']);
    assert.equal(vm.code, 0, vm.stderr);
    const ls = await run(RUNCVM, ['cache', 'ls']);
    assert.match(ls.stdout, new RegExp(`^${key}  `, 'm'));
    const bad = await run(RUNCVM, ['cache', 'build', 'runcvm-test/no-such-image', '--dir', dir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /cache build: docker image inspect runcvm-test\/no-such-image: .*[Nn]o such image/);
  });
});
