import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPs } from './ps-command.ts';

test('runcvm ps: one row per VM, host PIDs last', () => {
  const out = formatPs([
    {
      containerId: 'b'.repeat(64),
      name: 'web',
      prefix: '/p',
      writeback: false,
      hypervisor: 'qemu',
      accel: 'tcg',
      cpus: 2,
      memoryMiB: 256,
      uptimeSeconds: 4000,
      launcherPid: 11,
      processes: [
        { pid: 11, name: 'launcher' },
        { pid: 13, name: 'qemu-system-x86' },
      ],
      hostCpuSeconds: 1,
      hostRssBytes: 2,
    },
  ]);
  assert.equal(
    out,
    [
      'CONTAINER     NAME  BACKEND  ACCEL  VCPUS  MEMORY  UPTIME  HOST PIDS',
      'bbbbbbbbbbbb  web   qemu     tcg    2      256M    66m     11(launcher) 13(qemu-system-x86)',
      '',
    ].join('\n'),
  );
});
