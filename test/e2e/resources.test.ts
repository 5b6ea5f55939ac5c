/**
 * VM sizing from Docker's resource flags: --cpus gives vCPUs, -m gives guest RAM, and the
 * container's cgroup limit leaves room for the VMM (docs/resources.md). Two long-lived
 * containers carry most checks: one sized, pinned and pushed out of memory, one resized with
 * docker update.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUSYBOX, DEBIAN, docker, hostConfig, inspect, RUNTIME, run, runVm, uniqueName, until } from './docker.ts';

const MIB = 1024 * 1024;
const OVERHEAD_MIB = 256;
/** The guest kernel's own reservations (memory map, code, initramfs) keep MemTotal below -m. */
const MEMTOTAL_MARGIN_MIB = 80;

test('--cpus N gives ceil(N) vCPUs; the default is 1', async () => {
  const [two, frac, dflt] = await Promise.all([
    runVm(['--cpus', '2', BUSYBOX, 'nproc']),
    runVm(['--cpus', '1.5', BUSYBOX, 'nproc']),
    runVm([BUSYBOX, 'nproc']),
  ]);
  assert.deepEqual(
    [two.stdout, frac.stdout, dflt.stdout],
    ['2\n', '2\n', '1\n'],
    `${two.stderr}${frac.stderr}${dflt.stderr}`,
  );
});

test('-m below the guest minimum is refused at create with the reason', async () => {
  const r = await runVm(['-m', '64m', BUSYBOX, 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--memory: 64 MiB is below the guest minimum of 128 MiB/);
});

test('--cpus above the host CPU count is refused at create (by Docker, before any VM exists)', async () => {
  const r = await runVm([`--cpus`, String(cpus().length + 1), BUSYBOX, 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available/);
});

/** A file of the container's cgroup, v1 (controller dir) or v2 (one unified dir). */
function cgroupFile(id: string, v1: [string, string], v2: string): string {
  const candidates = [
    `/sys/fs/cgroup/${v1[0]}/docker/${id}/${v1[1]}`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/${v2}`,
  ];
  const f = candidates.find((c) => existsSync(c));
  assert.ok(f, `the container cgroup exists (${candidates.join(' or ')})`);
  return f;
}

const readNum = (f: string) => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[0]);
const memoryLimit = (id: string) => readNum(cgroupFile(id, ['memory', 'memory.limit_in_bytes'], 'memory.max'));

function cpuQuota(id: string): number {
  const v1 = `/sys/fs/cgroup/cpu/docker/${id}/cpu.cfs_quota_us`;
  if (existsSync(v1)) return readNum(v1);
  return readNum(cgroupFile(id, ['cpu', 'cpu.cfs_quota_us'], 'cpu.max'));
}

/** Host OOM kills in the container's cgroup (v1 memory.oom_control, v2 memory.events). */
function hostOomKills(id: string): number {
  const text = readFileSync(cgroupFile(id, ['memory', 'memory.oom_control'], 'memory.events'), 'utf8');
  return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 'NaN');
}

async function qemuPid(name: string): Promise<number> {
  const top = await docker(['top', name, '-eo', 'pid,comm']);
  const line = top.stdout.split('\n').find((l) => /\bqemu-system-x86/.test(l));
  assert.ok(line, `docker top lists QEMU:\n${top.stdout}`);
  return Number(line.trim().split(/\s+/)[0]);
}

/** vCPU threads by name ("CPU <n>/TCG|KVM", QEMU's debug-threads) → their Cpus_allowed_list. */
function vcpuAffinity(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
    const m = /^CPU (\d+)\//.exec(name);
    if (m) out[`vcpu${m[1]}`] = /^Cpus_allowed_list:\s+(.*)$/m.exec(status)?.[1] ?? '';
  }
  return out;
}

const rssMiB = (pid: number) =>
  Math.round(Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);

async function memTotalMiB(name: string): Promise<number> {
  const r = await docker(['exec', name, 'awk', '/MemTotal/ {print int($2/1024)}', '/proc/meminfo']);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

const TWO_CPUS = cpus().length >= 2 ? false : 'the host has fewer than 2 CPUs';

/**
 * runc's state root for a container, as the shim passes it (--root): dockerd gives containerd's
 * shim its runtime options, which the shim keeps in the bundle as options.json ({"binary_name",
 * "root": "/var/run/docker/runtime-runc"}), and the shim adds its namespace ("moby"). The
 * bundle is under Docker's own containerd, or the system one when dockerd uses that.
 */
function runcRoot(id: string): string {
  const bundles = [
    `/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/${id}`,
    `/run/containerd/io.containerd.runtime.v2.task/moby/${id}`,
  ];
  const bundle = bundles.find((b) => existsSync(join(b, 'options.json')));
  assert.ok(bundle, `the container's bundle with options.json (${bundles.join(' or ')})`);
  const root = join((JSON.parse(readFileSync(join(bundle, 'options.json'), 'utf8')) as { root: string }).root, 'moby');
  assert.ok(existsSync(join(root, id, 'state.json')), `runc keeps ${id}'s state under ${root}`);
  return root;
}

describe('a 2-vCPU, 512 MiB VM pinned with --cpuset-cpus 0,1', { skip: TWO_CPUS }, () => {
  const name = uniqueName('res');
  let id = '';

  before(async () => {
    const r = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '--cpus',
      '2',
      '--cpuset-cpus',
      '0,1',
      '-m',
      '512m',
      '--tmpfs',
      '/big:size=400m',
      DEBIAN,
      'sleep',
      'infinity',
    ]);
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
  });

  after(async () => {
    await docker(['rm', '-f', name]);
  });

  test("the guest gets -m minus the kernel's share; the cgroup limit is guest + VMM overhead; QEMU runs under the CPU quota", async () => {
    const total = await memTotalMiB(name);
    assert.ok(total > 512 - MEMTOTAL_MARGIN_MIB && total <= 512, `guest MemTotal ${total} MiB for -m 512m`);
    assert.equal((await docker(['exec', name, 'nproc'])).stdout, '2\n');
    assert.equal(memoryLimit(id), (512 + OVERHEAD_MIB) * MIB);
    assert.equal(cpuQuota(id), 200_000);
    // The quota binds the VMM because QEMU (vCPU threads included) lives in the container's cgroup.
    const cg = readFileSync(`/proc/${await qemuPid(name)}/cgroup`, 'utf8');
    assert.match(cg, new RegExp(`(cpu|^0:):.*docker[/-]${id}`, 'm'));
  });

  test('each vCPU thread is pinned to its own CPU of the set, round-robin', async () => {
    assert.deepEqual(vcpuAffinity(await qemuPid(name)), { vcpu0: '0', vcpu1: '1' });
  });

  test('free guest pages go back to the host (free-page reporting)', async () => {
    const pid = await qemuPid(name);
    const fill = await docker(['exec', name, 'dd', 'if=/dev/zero', 'of=/big/fill', 'bs=1M', 'count=300']);
    assert.equal(fill.code, 0, fill.stderr);
    const peak = rssMiB(pid);
    assert.equal((await docker(['exec', name, 'rm', '/big/fill'])).code, 0);
    // The guest reports freed 2 MiB blocks after ~2 s; QEMU then drops them from its memory.
    const settled = await until(
      'QEMU RSS to drop after the guest freed 300 MiB',
      () => {
        const now = rssMiB(pid);
        return now < peak - 150 ? now : undefined;
      },
      90_000,
      500,
    );
    assert.ok(settled < peak - 150, `QEMU RSS ${peak} → ${settled} MiB`);
  });

  test("a guest that exhausts its memory meets the guest OOM killer, not the host's", async () => {
    // The hog is a child that volunteers for the OOM killer; the shell reports how it died.
    const r = await docker([
      'exec',
      name,
      'sh',
      '-c',
      '(echo 1000 > /proc/self/oom_score_adj; exec tail /dev/zero); echo "hog status $?"',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hog status 137\n');
    assert.equal(await inspect(name, '{{.State.Running}} {{.State.OOMKilled}}'), 'true false');
    assert.equal(hostOomKills(id), 0);
  });

  test('docker update --cpuset-cpus re-pins the vCPU threads', async () => {
    assert.equal((await docker(['update', '--cpuset-cpus', '1', name])).code, 0);
    assert.deepEqual(vcpuAffinity(await qemuPid(name)), { vcpu0: '1', vcpu1: '1' });
    const r = await docker(['update', '--cpuset-cpus', '0-1', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(vcpuAffinity(await qemuPid(name)), { vcpu0: '0', vcpu1: '1' });
  });
});

describe('docker update on a running 1-vCPU, 512 MiB VM', () => {
  const name = uniqueName('upd');
  let id = '';

  before(async () => {
    const r = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '--cpus',
      '1',
      '-m',
      '512m',
      '--tmpfs',
      '/big:size=400m',
      BUSYBOX,
      'sleep',
      '3600',
    ]);
    assert.equal(r.code, 0, r.stderr);
    id = r.stdout.trim();
  });

  after(async () => {
    await docker(['rm', '-f', name]);
  });

  test('--memory shrinks the guest through the balloon and grows it back to its boot size, with the cgroup limit following', async () => {
    const boot = await memTotalMiB(name);
    let r = await docker(['update', '--memory', '256m', name]);
    assert.equal(r.code, 0, r.stderr);
    const shrunk = await memTotalMiB(name);
    assert.ok(
      shrunk <= 256 && shrunk > 256 - MEMTOTAL_MARGIN_MIB,
      `guest MemTotal ${boot} → ${shrunk} MiB after --memory 256m`,
    );
    assert.equal(memoryLimit(id), (256 + OVERHEAD_MIB) * MIB);
    const stats = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', name]);
    assert.match(stats.stdout, new RegExp(` / ${256 + OVERHEAD_MIB}MiB$`, 'm'));
    r = await docker(['update', '--memory', '512m', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await memTotalMiB(name), boot);
    assert.equal(memoryLimit(id), (512 + OVERHEAD_MIB) * MIB);
  });

  test('--memory beyond the boot size and --cpus beyond the boot vCPUs are refused, naming the option; nothing changes', async () => {
    let r = await docker(['update', '--memory', '1g', '--memory-swap', '2g', name]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--memory: 1024 MiB is more than the 512 MiB the VM booted with/);
    assert.equal(memoryLimit(id), (512 + OVERHEAD_MIB) * MIB);
    r = await docker(['update', '--cpus', '2', name]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--cpus: 2 needs 2 vCPUs but the VM booted with 1; a running VM cannot gain vCPUs/);
    assert.equal(cpuQuota(id), 100_000);
  });

  test('--memory below what the guest uses is refused before the balloon moves; what it can give is given, and the guest lives on', async () => {
    const boot = await memTotalMiB(name);
    const fill = await docker(['exec', name, 'dd', 'if=/dev/zero', 'of=/big/fill', 'bs=1M', 'count=350']);
    assert.equal(fill.code, 0, fill.stderr);
    try {
      let r = await docker(['update', '--memory', '128m', name]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /--memory: the guest cannot free enough memory to shrink to 128 MiB \(it can give \d+ of the 384 MiB asked for, keeping 32 MiB for its kernel: the rest is in use\); left at 512 MiB/,
      );
      assert.equal(memoryLimit(id), (512 + OVERHEAD_MIB) * MIB);
      assert.equal(await memTotalMiB(name), boot);
      // What the guest can spare goes, with the 350 MiB file still held: the guest is not starved.
      r = await docker(['update', '--memory', '448m', name]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(memoryLimit(id), (448 + OVERHEAD_MIB) * MIB);
      const shrunk = await memTotalMiB(name);
      assert.ok(shrunk <= 448 && shrunk > 448 - MEMTOTAL_MARGIN_MIB, `guest MemTotal ${boot} → ${shrunk} MiB`);
      const alive = await docker(['exec', name, 'sh', '-c', 'ls -l /big/fill && echo alive']);
      assert.match(alive.stdout, /alive/, alive.stderr);
      r = await docker(['update', '--memory', '512m', name]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await memTotalMiB(name), boot);
    } finally {
      await docker(['exec', name, 'rm', '-f', '/big/fill']);
    }
  });

  test('docker update never opens a path the container controls: a symlink planted for the QMP socket fails it cleanly', async () => {
    // A compromised launcher controls its /run. Host root reaching the socket through
    // /proc/<pid>/root would resolve an absolute symlink there against the host's root; the
    // update's relay runs inside the sandbox, where these targets do not exist. The first is a
    // socket of ours that records connections (a connection to docker.sock would leave no trace).
    const inSandbox = (script: string) =>
      run(hostConfig().runc, ['--root', runcRoot(id), 'exec', id, 'sh', '-c', script]);
    // QEMU creates the socket a moment after `docker run -d` returns (when this test runs alone).
    await until('the QMP socket', async () =>
      (await inSandbox('test -S /run/runcvm/qmp.sock')).code === 0 ? true : undefined,
    );
    const dir = mkdtempSync(join(tmpdir(), 'runcvm-e2e-trap-'));
    const trap = join(dir, 'trap.sock');
    let connections = 0;
    const server = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(trap, r));
    try {
      for (const target of [trap, '/var/run/docker.sock']) {
        const planted = await inSandbox(
          `mv /run/runcvm/qmp.sock /run/runcvm/qmp.real && ln -s ${target} /run/runcvm/qmp.sock`,
        );
        assert.equal(planted.code, 0, planted.stderr);
        try {
          const r = await docker(['update', '--memory', '256m', name]);
          assert.equal(
            connections,
            0,
            `host root connected to ${trap}, the host socket the planted symlink names: ${r.stderr}`,
          );
          assert.notEqual(r.code, 0);
          assert.match(
            r.stderr,
            new RegExp(
              '--memory: cannot reach the VM: qmp container [0-9a-f]{12}: ' +
                'runc exec qmp-relay exited \\(status 1\\): runcvm qmp-relay: connect ENOENT /run/runcvm/qmp\\.sock',
            ),
          );
        } finally {
          const restored = await inSandbox('rm /run/runcvm/qmp.sock && mv /run/runcvm/qmp.real /run/runcvm/qmp.sock');
          assert.equal(restored.code, 0, restored.stderr);
        }
      }
      assert.equal(memoryLimit(id), (512 + OVERHEAD_MIB) * MIB);
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // The real socket back in place, the VM is reachable again.
    const r = await docker(['update', '--memory', '512m', name]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('--cpus below the boot count changes the host quota of the VMM', async () => {
    const r = await docker(['update', '--cpus', '0.5', name]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(cpuQuota(id), 50_000);
    assert.equal((await docker(['exec', name, 'true'])).code, 0);
  });
});
