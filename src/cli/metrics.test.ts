import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningVm } from '../install/running-vms.ts';
import { formatMetrics, parseListen, serveMetrics } from './metrics.ts';

const vm: RunningVm = {
  containerId: 'c1',
  name: 'we"b\\x',
  prefix: '/p',
  writeback: false,
  hypervisor: 'qemu',
  accel: 'tcg',
  cpus: 2,
  memoryMiB: 256,
  uptimeSeconds: 42,
  launcherPid: 10,
  processes: [
    { pid: 10, name: 'launcher' },
    { pid: 11, name: 'qemu-system-x86' },
  ],
  hostCpuSeconds: 3.5,
  hostRssBytes: 4096,
};

test('Prometheus text: HELP and TYPE per metric, one sample per VM, label values escaped', () => {
  const text = formatMetrics([vm]);
  assert.match(text, /^runcvm_vms 1$/m);
  assert.match(text, /^runcvm_vm_info\{container="c1",name="we\\"b\\\\x",backend="qemu",accel="tcg"\} 1$/m);
  assert.match(text, /^# TYPE runcvm_vm_host_cpu_seconds_total counter$/m);
  for (const line of [
    'runcvm_vm_vcpus{container="c1"} 2',
    'runcvm_vm_memory_bytes{container="c1"} 268435456',
    'runcvm_vm_uptime_seconds{container="c1"} 42',
    'runcvm_vm_host_cpu_seconds_total{container="c1"} 3.5',
    'runcvm_vm_host_rss_bytes{container="c1"} 4096',
    'runcvm_vm_host_processes{container="c1"} 2',
  ]) {
    assert.ok(text.includes(`\n${line}\n`), line);
  }
  assert.equal(
    formatMetrics([])
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .join(),
    'runcvm_vms 0',
  );
});

test('--listen takes HOST:PORT, [IPV6]:PORT or :PORT and names the option when wrong', () => {
  assert.deepEqual(parseListen('127.0.0.1:9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseListen('[::1]:9100'), { host: '::1', port: 9100 });
  assert.deepEqual(parseListen(':9100'), { host: '0.0.0.0', port: 9100 });
  for (const bad of ['9100', 'host:', 'h:70000', '[::1]'])
    assert.throws(() => parseListen(bad), /--listen: invalid address/);
});

test('the server answers GET /metrics and nothing else', async () => {
  const server = await serveMetrics('127.0.0.1:0', () => formatMetrics([vm]));
  try {
    const { port } = server.address() as { port: number };
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await ok.text(), /^runcvm_vms 1$/m);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 404);
  } finally {
    server.close();
  }
});
