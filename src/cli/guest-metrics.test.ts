import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { RunningVm } from '../install/running-vms.ts';
import { parseBootRecord } from '../launcher/boot-record.ts';
import { type GuestFigures, parseExits, vcpuSeconds } from './guest-metrics.ts';
import { formatMetrics } from './metrics.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-guest-metrics-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('query-stats: the kvm provider\'s "exits" summed over vCPUs; nothing under TCG (an empty list)', () => {
  const vcpu = (exits: unknown) => ({
    provider: 'kvm',
    'qom-path': '/machine/unattached/device[0]',
    stats: [
      { name: 'halt_exits', value: 5 },
      { name: 'exits', value: exits },
    ],
  });
  assert.equal(parseExits([vcpu(100), vcpu(23)]), 123);
  assert.equal(parseExits([]), undefined);
  assert.equal(parseExits([{ provider: 'cryptodev', stats: [{ name: 'exits', value: 9 }] }]), undefined);
  assert.equal(parseExits([vcpu('lots')]), undefined);
  assert.equal(parseExits({ not: 'a list' }), undefined);
});

test("vCPU threads ('CPU <n>/<accel>') give each vCPU's CPU time; other threads are not vCPUs", () => {
  const proc = join(tmp, 'proc');
  const task = (tid: number, comm: string, utime: number, stime: number) => {
    mkdirSync(join(proc, '50', 'task', String(tid)), { recursive: true });
    const fields = ['S', '1', ...Array(9).fill('0'), String(utime), String(stime), ...Array(30).fill('0')];
    writeFileSync(join(proc, '50', 'task', String(tid), 'stat'), `${tid} (${comm}) ${fields.join(' ')}`);
  };
  task(50, 'qemu-system-x86', 900, 100);
  task(51, 'CPU 1/TCG', 150, 50);
  task(52, 'CPU 0/TCG', 300, 20);
  task(53, 'worker', 1, 1);
  assert.deepEqual(vcpuSeconds(proc, 50), [3.2, 2]);
  assert.equal(vcpuSeconds(proc, 999), undefined);
});

test('the boot record: four ordered epoch times within a day, else nothing', () => {
  const ok = { launcherStartMs: 1000, vmmSpawnMs: 1200, agentUpMs: 3000, workloadStartedMs: 3100 };
  assert.deepEqual(parseBootRecord(JSON.stringify(ok)), ok);
  for (const bad of [
    { ...ok, agentUpMs: 900 },
    { ...ok, workloadStartedMs: 1000 + 86_400_001 },
    { ...ok, vmmSpawnMs: 'soon' },
    { launcherStartMs: 1000 },
  ])
    assert.equal(parseBootRecord(JSON.stringify(bad)), undefined);
  assert.equal(parseBootRecord('not json'), undefined);
  assert.equal(parseBootRecord(' '.repeat(5000)), undefined);
});

test('guest metrics in Prometheus text: one sample per known figure, none for unknown ones', () => {
  const vm = {
    containerId: 'c1',
    hypervisor: 'qemu',
    accel: 'tcg',
    memoryMiB: 256,
    processes: [],
  } as unknown as RunningVm;
  const other = { ...vm, containerId: 'c2' } as RunningVm;
  const g: GuestFigures = {
    bootSeconds: 2.5,
    vcpuSeconds: [3.2, 2],
    memory: { totalBytes: 200, freeBytes: 100, cachedBytes: 30, availableBytes: 120, majorFaults: 4 },
    balloonActualBytes: 200 * 1024 * 1024,
  };
  const text = formatMetrics([vm, other], new Map([['c1', g]]));
  for (const line of [
    'runcvm_vm_boot_seconds{container="c1"} 2.5',
    'runcvm_vm_vcpu_seconds_total{container="c1",vcpu="0"} 3.2',
    'runcvm_vm_vcpu_seconds_total{container="c1",vcpu="1"} 2',
    'runcvm_vm_guest_memory_total_bytes{container="c1"} 200',
    'runcvm_vm_guest_memory_free_bytes{container="c1"} 100',
    'runcvm_vm_guest_memory_available_bytes{container="c1"} 120',
    'runcvm_vm_guest_memory_cached_bytes{container="c1"} 30',
    'runcvm_vm_guest_memory_used_bytes{container="c1"} 70',
    'runcvm_vm_guest_major_faults_total{container="c1"} 4',
    `runcvm_vm_balloon_bytes{container="c1"} ${56 * 1024 * 1024}`,
  ])
    assert.ok(text.includes(`\n${line}\n`), line);
  assert.match(text, /^# TYPE runcvm_vm_exits_total counter$/m);
  assert.doesNotMatch(text, /^runcvm_vm_exits_total\{/m);
  assert.doesNotMatch(text, /^runcvm_vm_guest_stats_age_seconds\{/m);
  assert.doesNotMatch(text, /^runcvm_vm_(boot_|guest_|balloon_|vcpu_seconds)\w*\{container="c2"/m);
  // Every family has HELP and TYPE once.
  for (const name of new Set([...text.matchAll(/^(runcvm_\w+)[{ ]/gm)].map((m) => m[1])))
    assert.equal(text.split('\n').filter((l) => l.startsWith(`# TYPE ${name} `)).length, 1, name);
});
