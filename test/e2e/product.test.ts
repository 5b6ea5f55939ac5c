/**
 * Operating runcvm: versions (runcvm, its runtime, the guest agent, the runc it wraps), help for
 * every command, and doctor against the real install: real binaries, real dockerd, real VMs.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/agent-protocol/frame.ts';
import { BUSYBOX, DEBIAN, docker, hostConfig, PREFIX, RUNTIME, run, runVm, uniqueName, until } from './docker.ts';

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
    'debug',
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
        prefix: string;
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
        // On the supervisor, the Node launcher runs as its child until the VM is handed over: wait for that too,
        // so every process listed is still there when checked below.
        const up = v?.processes.some((p) => p.name.startsWith('qemu')) && !v.processes.some((p) => p.name === 'node');
        return up ? v : undefined;
      });
      assert.equal(vm.name, name);
      // The install it runs from, on the host (the launcher itself sees the prefix at /opt/runcvm).
      assert.equal(vm.prefix, PREFIX);
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
      // The guest's own figures: the balloon's statistics (one poll per metrics call), vCPU time, boot time.
      const sample = (text: string, metric: string, extra = '') =>
        Number(new RegExp(`^${metric}\\{container="${id}"${extra}\\} (\\S+)$`, 'm').exec(text)?.[1]);
      const g = await until(
        'the guest memory figures and the boot duration',
        async () => {
          const t = (await run(RUNCVM, ['metrics'])).stdout;
          // The balloon reports from early in the guest's boot; the boot record once the workload started.
          return sample(t, 'runcvm_vm_guest_memory_total_bytes') > 0 && sample(t, 'runcvm_vm_boot_seconds') > 0
            ? t
            : undefined;
        },
        60_000,
      );
      const total = sample(g, 'runcvm_vm_guest_memory_total_bytes');
      const free = sample(g, 'runcvm_vm_guest_memory_free_bytes');
      const used = sample(g, 'runcvm_vm_guest_memory_used_bytes');
      // The guest kernel manages most of the 256 MiB (less what it reserved for itself).
      assert.ok(total > 150 * 1024 * 1024 && total <= 256 * 1024 * 1024, `total ${total}`);
      assert.ok(free > 0 && free < total, `free ${free}`);
      assert.ok(used > 1024 * 1024 && used < total, `used ${used}`);
      // MemAvailable leaves out the kernel's reserves, so on a small guest it can be below MemFree.
      const available = sample(g, 'runcvm_vm_guest_memory_available_bytes');
      assert.ok(available > 0 && available <= total, `available ${available}`);
      assert.equal(sample(g, 'runcvm_vm_balloon_bytes'), 0);
      assert.ok(sample(g, 'runcvm_vm_guest_stats_age_seconds') <= 60);
      const boot = sample(g, 'runcvm_vm_boot_seconds');
      assert.ok(boot > 0.1 && boot <= sample(g, 'runcvm_vm_uptime_seconds') + 1, `boot ${boot}`);
      for (const cpu of ['0', '1']) assert.ok(sample(g, 'runcvm_vm_vcpu_seconds_total', `,vcpu="${cpu}"`) >= 0, cpu);
      assert.ok(sample(g, 'runcvm_vm_vcpu_seconds_total', ',vcpu="0"') > 0);
      // Exits exist only under KVM (query-stats); TCG has no VM exits to count.
      if (hostConfig().kvm.usable) assert.ok(sample(g, 'runcvm_vm_exits_total') > 0);
      else assert.doesNotMatch(g, new RegExp(`^runcvm_vm_exits_total\\{container="${id}"`, 'm'));
      // docker update --memory inflates the balloon: the metric follows.
      const upd = await docker(['update', '--memory', '200m', '--memory-swap', '400m', name]);
      assert.equal(upd.code, 0, upd.stderr);
      await until(
        'the balloon at 56 MiB',
        async () =>
          sample((await run(RUNCVM, ['metrics'])).stdout, 'runcvm_vm_balloon_bytes') === 56 * 1024 * 1024 || undefined,
        60_000,
      );
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

describe('debug', { timeout: 300_000 }, () => {
  test("runcvm debug: the agent's view of a running VM (every guest process, the guest kernel's log), exit status passed through; refusals", async () => {
    // The debian image has no ps: debug's tools come from the host, not from the image.
    const name = uniqueName('product-debug');
    const d = await docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, DEBIAN, 'sleep', '600']);
    assert.equal(d.code, 0, d.stderr);
    try {
      const ps = await until('debug ps', async () => {
        const r = await run(RUNCVM, ['debug', name, 'ps', '-o', 'pid,args']);
        return r.code === 0 && /sleep 600/.test(r.stdout) ? r : undefined;
      });
      // PID 1 of the guest is the agent (/init), and the workload is one of its processes.
      assert.match(ps.stdout, /^ +1 \/init$/m);
      assert.match(ps.stdout, /^ +\d+ sleep 600$/m);
      // The workload's own view: its PID namespace, where the agent does not exist.
      const inside = await docker(['exec', name, 'cat', '/proc/1/cmdline']);
      assert.equal(inside.stdout.replace(/\0/g, ' ').trim(), 'sleep 600');
      const agentView = await run(RUNCVM, ['debug', name, 'cat', '/proc/1/cmdline']);
      assert.equal(agentView.stdout.replace(/\0/g, ' ').trim(), '/init');
      // A mount the workload makes in its own mount namespace is not in the agent's.
      const m = await docker([
        'exec',
        name,
        'sh',
        '-c',
        'mkdir -p /tmp/wl && mount -t tmpfs wl-only /tmp/wl && grep -c wl-only /proc/mounts',
      ]);
      assert.deepEqual([m.code, m.stdout.trim()], [0, '1'], m.stderr);
      const dm = await run(RUNCVM, ['debug', name, 'grep', '-c', 'wl-only', '/proc/mounts']);
      assert.equal(dm.stdout.trim(), '0', "the workload's mount is not in the agent's namespace");
      const dmesg = await run(RUNCVM, ['debug', name, 'dmesg']);
      assert.equal(dmesg.code, 0, dmesg.stderr);
      assert.match(dmesg.stdout, /Linux version /);
      // Exit status, stdin and stderr pass through as with docker exec.
      const st = await run(RUNCVM, ['debug', name, 'sh', '-c', 'cat; echo oops >&2; exit 7'], { input: 'from stdin' });
      assert.deepEqual([st.code, st.stdout, st.stderr], [7, 'from stdin', 'oops\n']);
      const missing = await run(RUNCVM, ['debug', name, 'no-such-command']);
      assert.equal(missing.code, 127);
      // Only root on the host.
      const user = await run('setpriv', [
        '--reuid',
        '65534',
        '--regid',
        '65534',
        '--clear-groups',
        RUNCVM,
        'debug',
        name,
        'true',
      ]);
      assert.equal(user.code, 1);
      assert.match(user.stderr, /only root on the host can debug a VM/);
    } finally {
      await docker(['rm', '-f', name]);
    }
    const gone = await run(RUNCVM, ['debug', name, 'true']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no running runcvm container/);
    const runc = uniqueName('product-debug-runc');
    await docker(['run', '-d', '--name', runc, BUSYBOX, 'sleep', '600']);
    try {
      const r = await run(RUNCVM, ['debug', runc, 'true']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a runcvm container \(runtime runc\)/);
      await docker(['stop', '-t', '0', runc]);
      const stopped = await run(RUNCVM, ['debug', runc, 'true']);
      assert.match(stopped.stderr, /is not running \(status exited\)/);
    } finally {
      await docker(['rm', '-f', runc]);
    }
  });
});

describe('host log', { timeout: 300_000 }, () => {
  const ctx = mkdtempSync(join(tmpdir(), 'runcvm-product-log-'));
  const image = `runcvm-test/product-log-${process.pid}`;
  after(async () => {
    rmSync(ctx, { recursive: true, force: true });
    await docker(['rmi', '-f', image]);
  });

  test("the container's host log: runtime, launcher, VMM, virtiofsd and agent lines, the cold image build with its duration; kept after rm", async () => {
    // A layer no cache has seen, so the image root's ext4 is built by this create (cold).
    writeFileSync(join(ctx, 'unique'), `${process.pid} ${Date.now()}\n`);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY unique /unique\n`);
    const b = await docker(['build', '-q', '-t', image, ctx]);
    assert.equal(b.code, 0, b.stderr);
    const name = uniqueName('product-log');
    const r = await docker([
      'run',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-e',
      'RUNCVM_ROOTFS=image',
      image,
      'sh',
      '-c',
      'cat /unique; exit 3',
    ]);
    assert.equal(r.code, 3, r.stderr);
    const id = (await docker(['inspect', '--format', '{{.Id}}', name])).stdout.trim();
    assert.equal((await docker(['rm', name])).code, 0);
    const file = `/var/log/runcvm/${id}/runcvm.log`;
    assert.equal(statSync(file).mode & 0o777, 0o640);
    const log = await run(RUNCVM, ['debug', '--log', id.slice(0, 12)]);
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout, readFileSync(file, 'utf8'));
    const at = '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z ';
    for (const re of [
      'runtime: create: qemu \\((kvm|tcg)\\), 1 vCPU\\(s\\), 512 MiB, kernel \\w+, root image, data plane (supervisor|node)(, VM started by (runcvm-supervisor|the Node launcher .*))?$',
      'runtime: image cache: built [0-9a-f]{12} \\(cold\\) in \\d+\\.\\d s: ',
      'launcher: starting: qemu ',
      'launcher: qemu started, \\d+ ms after the launcher started$',
      'virtiofsd: ',
      'launcher: guest agent up: runcvm-agent \\S+ \\(protocol \\d+\\), \\d+ ms after the launcher started$',
      'launcher: workload ended: status 3$',
      'agent: info: ',
      'launcher: exit status 3$',
    ])
      assert.match(log.stdout, new RegExp(at + re, 'm'), re);
    // A second start of the same image finds it in the cache (warm), in the same kind of log.
    const again = await docker(['run', '-d', `--runtime=${RUNTIME}`, '-e', 'RUNCVM_ROOTFS=image', image, 'true']);
    const id2 = again.stdout.trim();
    await docker(['wait', id2]);
    await docker(['rm', id2]);
    assert.match(
      readFileSync(`/var/log/runcvm/${id2}/runcvm.log`, 'utf8'),
      /runtime: image cache: [0-9a-f]{12} found \(warm\)/,
    );
    const none = await run(RUNCVM, ['debug', '--log', 'runcvm-no-such-container']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no container "runcvm-no-such-container" has a host log/);
  });
});

describe('start path', { timeout: 300_000 }, () => {
  /** One start: its runcvm-timing record (RUNCVM_TIMING=1) and its host log. */
  async function start(extra: string[]): Promise<{ timing: Record<string, number>; log: string; stdout: string }> {
    const name = uniqueName('product-start');
    const r = await docker([
      'run',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-e',
      'RUNCVM_TIMING=1',
      ...extra,
      BUSYBOX,
      'sh',
      '-c',
      'ip -o -4 addr show eth0',
    ]);
    const id = (await docker(['inspect', '--format', '{{.Id}}', name])).stdout.trim();
    await docker(['rm', name]);
    assert.equal(r.code, 0, r.stderr);
    const line = /^runcvm-timing (\{.*\})$/m.exec(r.stderr)?.[1];
    assert.ok(line, r.stderr);
    return {
      timing: JSON.parse(line) as Record<string, number>,
      log: readFileSync(`/var/log/runcvm/${id}/runcvm.log`, 'utf8'),
      stdout: r.stdout,
    };
  }

  test('a default start runs no Node launcher: create hands the network over, runcvm-supervisor spawns virtiofsd and QEMU', async () => {
    const s = await start([]);
    // The guest has the container's address: create handed eth0 over in the sandbox's namespace.
    assert.match(s.stdout, /inet \d+\.\d+\.\d+\.\d+\/\d+/);
    // launcherNodeMs is the Node launcher's own start time: only a Node launcher records it.
    assert.equal(s.timing.launcherNodeMs, undefined, JSON.stringify(s.timing));
    for (const k of ['runcCreatedMs', 'networkReadyMs', 'startPlanMs', 'launcherStartMs', 'vmmSpawnMs', 'agentUpMs'])
      assert.ok(s.timing[k] && s.timing[k] > 0, `${k} in ${JSON.stringify(s.timing)}`);
    assert.ok((s.timing.startPlanMs as number) <= (s.timing.launcherStartMs as number));
    assert.match(s.log, /runtime: create: qemu .*, data plane supervisor, VM started by runcvm-supervisor$/m);
    assert.match(s.log, /launcher: starting: qemu /);
    assert.match(s.log, /launcher: qemu started, \d+ ms after the launcher started$/m);
    // The Node launcher's handover line: no launcher ran to write it.
    assert.doesNotMatch(s.log, /handed the data plane over/);
  });

  test('--cpuset-cpus keeps the Node launcher for the start (QMP pinning), says why, and hands over', async () => {
    const s = await start(['--cpuset-cpus', '0']);
    assert.ok((s.timing.launcherNodeMs as number) > 0, JSON.stringify(s.timing));
    assert.match(s.log, /VM started by the Node launcher \(--cpuset-cpus pins the vCPU threads through QMP/);
    assert.match(s.log, /launcher: handed the data plane over to runcvm-supervisor$/m);
  });
});
