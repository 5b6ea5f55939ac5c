import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { launcherBundleIndex, parseStat, runningVms } from './running-vms.ts';

test('a launcher is node … <prefix>/lib/runcvm.mjs launcher, not runcvm-init carrying that command line', () => {
  assert.equal(launcherBundleIndex(['/usr/bin/node', '--no-warnings', '/opt/runcvm/lib/runcvm.mjs', 'launcher']), 2);
  assert.equal(
    launcherBundleIndex(['/opt/runcvm/bin/runcvm-init', '/usr/bin/node', '/opt/runcvm/lib/runcvm.mjs', 'launcher']),
    -1,
  );
  assert.equal(launcherBundleIndex(['/usr/bin/node', '/opt/runcvm/lib/runcvm.mjs', 'runtime', 'create']), -1);
});

test('/proc/<pid>/stat fields count from the last parenthesis (a comm may hold one)', () => {
  const stat = `42 (qemu) x) S 7 ${Array.from({ length: 17 }, () => '0').join(' ')} 12345 0 0`;
  assert.deepEqual(parseStat(stat), { comm: 'qemu) x', ppid: 7, startTicks: 12345, cpuTicks: 0, rssPages: 0 });
  const busy = `9 (qemu-system-x86) S 1 ${['0', '0', '0', '0', '0', '0', '0', '0', '0', '250', '50', '0', '0', '0', '0', '0', '0'].join(' ')} 777 0 300`;
  assert.deepEqual(parseStat(busy), {
    comm: 'qemu-system-x86',
    ppid: 1,
    startTicks: 777,
    cpuTicks: 300,
    rssPages: 300,
  });
});

test("running VMs from a /proc tree: the launch spec, the descendants, the uptime, Docker's name", () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-ps-'));
  try {
    const proc = join(root, 'proc');
    const id = 'b'.repeat(64);
    const stat = (pid: number, comm: string, ppid: number, start: number) =>
      `${pid} (${comm}) S ${ppid} ${Array.from({ length: 17 }, () => '0').join(' ')} ${start} 0`;
    const put = (pid: number, comm: string, ppid: number, argv: string[], start = 1000) => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'stat'), stat(pid, comm, ppid, start));
      writeFileSync(join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    };
    mkdirSync(proc, { recursive: true });
    writeFileSync(join(proc, 'uptime'), '130.50 100.00\n');
    put(10, 'runcvm-init', 1, ['/p/bin/runcvm-init', '/usr/bin/node', '/p/lib/runcvm.mjs', 'launcher']);
    put(11, 'node', 10, ['/usr/bin/node', '--no-warnings', '/p/lib/runcvm.mjs', 'launcher'], 3000);
    put(12, 'virtiofsd', 11, ['/usr/lib/qemu/virtiofsd']);
    put(13, 'qemu-system-x86', 11, ['/usr/bin/qemu-system-x86_64']);
    put(14, 'sh', 1, ['sh']);
    mkdirSync(join(proc, '11', 'root', '.runcvm'), { recursive: true });
    writeFileSync(
      join(proc, '11', 'root', '.runcvm', 'spec.json'),
      // The prefix comes from the spec: the launcher's argv shows the one inside the container.
      JSON.stringify({
        containerId: id,
        hypervisor: 'qemu',
        accel: 'tcg',
        cpus: 2,
        memoryMiB: 256,
        hostPrefix: '/host/p',
      }),
    );
    mkdirSync(join(root, 'docker', 'containers', id), { recursive: true });
    writeFileSync(join(root, 'docker', 'containers', id, 'config.v2.json'), JSON.stringify({ Name: '/web' }));
    const vms = runningVms(proc, join(root, 'docker'));
    assert.deepEqual(vms, [
      {
        containerId: id,
        name: 'web',
        prefix: '/host/p',
        writeback: false,
        hypervisor: 'qemu',
        accel: 'tcg',
        cpus: 2,
        memoryMiB: 256,
        uptimeSeconds: 101,
        launcherPid: 11,
        processes: [
          { pid: 11, name: 'launcher' },
          { pid: 12, name: 'virtiofsd' },
          { pid: 13, name: 'qemu-system-x86' },
        ],
        hostCpuSeconds: 0,
        hostRssBytes: 0,
      },
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a container under runcvm-supervisor (the default data plane) is one VM, while its launcher boots and after', () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-ps-'));
  try {
    const proc = join(root, 'proc');
    const put = (pid: number, comm: string, ppid: number, argv: string[]) => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(
        join(proc, String(pid), 'stat'),
        `${pid} (${comm}) S ${ppid} ${Array.from({ length: 17 }, () => '0').join(' ')} 1000 0`,
      );
      writeFileSync(join(proc, String(pid), 'cmdline'), `${argv.join('\0')}\0`);
    };
    mkdirSync(proc, { recursive: true });
    writeFileSync(join(proc, 'uptime'), '130.50 100.00\n');
    const launcher = ['/usr/bin/node', '--no-warnings', '/opt/runcvm/lib/runcvm.mjs', 'launcher'];
    put(10, 'runcvm-init', 1, ['/opt/runcvm/bin/runcvm-init', '/opt/runcvm/bin/runcvm-supervisor', ...launcher]);
    put(11, 'runcvm-supervis', 10, ['/opt/runcvm/bin/runcvm-supervisor', ...launcher]);
    // Booting: the Node launcher is the supervisor's child and has started QEMU.
    put(12, 'node', 11, launcher);
    put(13, 'qemu-system-x86', 12, ['/usr/bin/qemu-system-x86_64']);
    mkdirSync(join(proc, '11', 'root', '.runcvm'), { recursive: true });
    writeFileSync(
      join(proc, '11', 'root', '.runcvm', 'spec.json'),
      JSON.stringify({ containerId: 'c1', hypervisor: 'qemu', accel: 'tcg', cpus: 1, memoryMiB: 512 }),
    );
    const names = () =>
      runningVms(proc, join(root, 'docker')).map((v) => [v.launcherPid, v.processes.map((p) => p.name)]);
    assert.deepEqual(names(), [[11, ['launcher', 'node', 'qemu-system-x86']]]);
    // Handed over: the launcher is gone, QEMU and virtiofsd are the supervisor's (its child subreaper).
    rmSync(join(proc, '12'), { recursive: true });
    put(13, 'qemu-system-x86', 11, ['/usr/bin/qemu-system-x86_64']);
    put(14, 'virtiofsd', 11, ['/usr/lib/qemu/virtiofsd']);
    assert.deepEqual(names(), [[11, ['launcher', 'qemu-system-x86', 'virtiofsd']]]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
