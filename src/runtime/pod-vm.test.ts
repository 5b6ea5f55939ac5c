import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXEC_OOM_ENV, POD_LOG_DIR, POD_SOCKET_DIR, PREFIX_IN_CONTAINER, RUN_DIR } from '../contracts/launch-spec.ts';
import { type OciSpec, parseOciSpec } from '../oci/spec.ts';
import { EXEC_START_ENV } from './exec-client.ts';
import {
  CLIENT_MEMORY_BYTES,
  clientSpec,
  cpuMaxOf,
  hostBinds,
  POD_GUEST_ROOT,
  podShare,
  sandboxMounts,
} from './pod-vm.ts';

/** config.json containerd 1.6's CRI wrote for an app container (see pod.test.ts). */
function fixture(root: string): OciSpec {
  const file = new URL('./testdata/cri-containerd-container.json', import.meta.url);
  const spec = parseOciSpec(readFileSync(file, 'utf8'), 'cri-containerd-container.json');
  spec.root.path = root;
  return spec;
}

test('the sandbox: the pod share reaches the guest (rslave: later mounts appear), socket and log dirs only the launcher', () => {
  const m = sandboxMounts('/b/sb');
  assert.deepEqual(m.share, podShare('/b/sb'));
  assert.equal(m.share.root, '/b/sb/runcvm-pod/root');
  assert.deepEqual(m.guest, {
    destination: POD_GUEST_ROOT,
    type: 'bind',
    source: '/b/sb/runcvm-pod/root',
    options: ['rbind', 'rslave', 'nosuid', 'nodev'],
  });
  assert.deepEqual(
    m.launcher.map((x) => [x.destination, x.source]),
    [
      [POD_SOCKET_DIR, '/b/sb/runcvm-pod/sock'],
      [POD_LOG_DIR, '/b/sb/runcvm-pod/log'],
    ],
  );
});

test("an app container's CRI binds are mounted in its root on the host, resolved without leaving it; the guest makes /dev, /proc, /sys", () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-podvm-'));
  try {
    mkdirSync(join(root, 'etc'));
    // An image symlink must not send a bind out of the root.
    symlinkSync('/usr/bin', join(root, 'data'));
    const spec = fixture(root);
    spec.mounts = [
      ...(spec.mounts ?? []),
      { destination: '/data/x', type: 'bind', source: '/srv/vol', options: ['rbind', 'ro'] },
    ];
    assert.deepEqual(hostBinds(spec), [
      {
        source: spec.mounts.find((m) => m.destination === '/etc/hostname')?.source,
        inRoot: '/etc/hostname',
        readonly: false,
      },
      {
        source: spec.mounts.find((m) => m.destination === '/etc/hosts')?.source,
        inRoot: '/etc/hosts',
        readonly: false,
      },
      {
        source: spec.mounts.find((m) => m.destination === '/etc/resolv.conf')?.source,
        inRoot: '/etc/resolv.conf',
        readonly: false,
      },
      { source: '/srv/vol', inRoot: '/usr/bin/x', readonly: true },
    ]);
    spec.mounts.push({ destination: '/cache', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    assert.throws(() => hostBinds(spec), /mount \/cache \(type tmpfs\): a pod VM's containers take only bind mounts/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an app container's runc container: the exec client from the runtime root, no capabilities, the pod's netns only, the pod socket", () => {
  const spec = fixture('/b/ctr/rootfs');
  const out = clientSpec(spec, podShare('/b/sb'), '/opt/runcvm', { kind: 'container', name: 'abc' });
  assert.deepEqual(out.root, { path: '/opt/runcvm/rt', readonly: true });
  assert.deepEqual(out.process.args, [`${PREFIX_IN_CONTAINER}/bin/runcvm-exec`]);
  assert.ok(out.process.env?.some((e) => e.startsWith(`${EXEC_START_ENV}=`)));
  assert.deepEqual(out.process.capabilities?.bounding, []);
  assert.equal(out.process.noNewPrivileges, true);
  assert.deepEqual(out.linux?.namespaces, [
    { type: 'network', path: '/proc/323/ns/net' },
    { type: 'pid' },
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'mount' },
  ]);
  assert.deepEqual(
    out.mounts?.find((m) => m.destination === RUN_DIR),
    {
      destination: RUN_DIR,
      type: 'bind',
      source: '/b/sb/runcvm-pod/sock',
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
    },
  );
  // None of the CRI's binds reach the host side: they are the guest container's.
  assert.ok(!out.mounts?.some((m) => m.destination === '/etc/hosts'));
  assert.equal(out.linux?.resources?.devices?.[0]?.allow, false);
});

test("a limited app container: its limit is the guest's; the client's host cgroup gets at most 32 MiB and knows it (OOMKilled reporting)", () => {
  const spec = fixture('/b/ctr/rootfs');
  spec.linux = {
    ...(spec.linux ?? {}),
    resources: { memory: { limit: 64 << 20, swap: 64 << 20, reservation: 48 << 20 } },
  };
  const big = clientSpec(spec, podShare('/b/sb'), '/opt/runcvm', {
    kind: 'container',
    name: 'abc',
    memoryMaxBytes: 64 << 20,
  });
  assert.deepEqual(big.linux?.resources?.memory, { limit: CLIENT_MEMORY_BYTES, swap: CLIENT_MEMORY_BYTES });
  assert.ok(big.process.env?.includes(`${EXEC_OOM_ENV}=${CLIENT_MEMORY_BYTES}`));
  const small = clientSpec(spec, podShare('/b/sb'), '/opt/runcvm', {
    kind: 'container',
    name: 'abc',
    memoryMaxBytes: 8 << 20,
  });
  assert.equal(small.linux?.resources?.memory?.limit, 8 << 20);
  assert.ok(small.process.env?.includes(`${EXEC_OOM_ENV}=${8 << 20}`));
  const none = clientSpec(fixture('/b/ctr/rootfs'), podShare('/b/sb'), '/opt/runcvm', {
    kind: 'container',
    name: 'abc',
  });
  assert.ok(!none.process.env?.some((e) => e.startsWith(`${EXEC_OOM_ENV}=`)));
});

test('a CPU limit becomes cpu.max of the guest cgroup, within the kernel bounds', () => {
  const withCpu = (cpu: { quota?: number; period?: number }) => {
    const spec = fixture('/b/ctr/rootfs');
    spec.linux = { ...(spec.linux ?? {}), resources: { cpu } };
    return spec;
  };
  assert.deepEqual(cpuMaxOf(withCpu({ quota: 50_000, period: 100_000 })), { quotaUs: 50_000, periodUs: 100_000 });
  assert.deepEqual(cpuMaxOf(withCpu({ quota: 20_000 })), { quotaUs: 20_000, periodUs: 100_000 });
  assert.equal(cpuMaxOf(withCpu({ quota: -1, period: 100_000 })), undefined);
  assert.equal(cpuMaxOf(withCpu({ period: 100_000 })), undefined);
  assert.throws(() => cpuMaxOf(withCpu({ quota: 500, period: 100_000 })), /cpu.quota 500: allowed 1000/);
  assert.throws(
    () => cpuMaxOf(withCpu({ quota: 50_000, period: 2_000_000 })),
    /cpu.period 2000000: allowed 1000 to 1000000/,
  );
});
