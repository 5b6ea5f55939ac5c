import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OciSpec } from '../oci/spec.ts';
import { type RewriteContext, rewriteSpec } from './rewrite.ts';
import { launcherSeccomp } from './sandbox.ts';

const KVM = { path: '/dev/kvm', major: 10, minor: 232 };

/** What Docker writes for `docker run --privileged --pid host --ipc host --read-only --cap-add ALL`. */
function privilegedSpec(): OciSpec {
  return {
    ociVersion: '1.0.2',
    root: { path: '/var/lib/docker/overlay2/x/merged', readonly: true },
    process: {
      args: ['sh'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
      capabilities: {
        bounding: ['CAP_SYS_ADMIN', 'CAP_SYS_MODULE'],
        effective: ['CAP_SYS_ADMIN'],
        permitted: ['CAP_SYS_ADMIN'],
      },
      apparmorProfile: 'unconfined',
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'rw'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'rw'],
      },
      { destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind', 'rw'] },
    ],
    linux: {
      namespaces: [
        { type: 'pid', path: '/proc/1/ns/pid' },
        { type: 'ipc', path: '/proc/1/ns/ipc' },
        { type: 'network' },
        { type: 'mount' },
      ],
      devices: [{ type: 'b', path: '/dev/sda', major: 8, minor: 0 }],
      resources: { devices: [{ allow: true, access: 'rwm' }] },
    },
  } as OciSpec;
}

function ctx(network: 'own' | 'shared'): RewriteContext {
  return {
    runtimeRoot: '/opt/runcvm/rt',
    prefix: '/opt/runcvm',
    specDir: '/b/runcvm',
    nodePath: '/usr/bin/node',
    devices: [KVM],
    hostDirs: [],
    resolve: (d) => d,
    network,
  };
}

test('--privileged widens nothing of the launcher: devices, capabilities, seccomp, NNP, masks, /sys, namespaces', () => {
  const { spec } = rewriteSpec(privilegedSpec(), ctx('own'));
  const linux = spec.linux!;
  assert.deepEqual(linux.devices, [
    { type: 'c', path: '/dev/kvm', major: 10, minor: 232, fileMode: 0o660, uid: 0, gid: 0 },
  ]);
  const rules = linux.resources!.devices!;
  assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
  assert.ok(
    !rules.some((r) => r.allow && (r.type === undefined || r.type === 'a' || r.type === 'b')),
    'no block device and no wildcard allowed',
  );
  assert.ok(rules.some((r) => r.allow && r.major === 10 && r.minor === 232));
  const caps = spec.process.capabilities!;
  for (const set of [caps.bounding, caps.effective, caps.permitted]) {
    assert.ok(!set?.includes('CAP_SYS_ADMIN') && !set?.includes('CAP_SYS_MODULE') && !set?.includes('CAP_SYS_PTRACE'));
  }
  assert.equal(spec.process.noNewPrivileges, true);
  assert.deepEqual(linux.seccomp, launcherSeccomp());
  assert.ok(linux.maskedPaths?.includes('/proc/kcore'));
  assert.ok(linux.readonlyPaths?.includes('/proc/sys'));
  for (const d of ['/sys', '/sys/fs/cgroup']) {
    const m = spec.mounts!.find((x) => x.destination === d)!;
    assert.ok(m.options!.includes('ro') && !m.options!.includes('rw'), `${d} read-only`);
  }
  assert.deepEqual(
    linux.namespaces!.find((n) => n.type === 'pid'),
    { type: 'pid' },
  );
  assert.deepEqual(
    linux.namespaces!.find((n) => n.type === 'ipc'),
    { type: 'ipc' },
  );
  assert.equal(spec.process.apparmorProfile, undefined, 'unconfined is never passed on (no profile loaded here)');
});

test("NET_ADMIN and NET_RAW only with a network namespace of the container's own", () => {
  const own = rewriteSpec(privilegedSpec(), ctx('own')).spec.process.capabilities!.bounding!;
  const shared = rewriteSpec(privilegedSpec(), ctx('shared')).spec.process.capabilities!.bounding!;
  assert.ok(own.includes('CAP_NET_ADMIN') && own.includes('CAP_NET_RAW'));
  assert.ok(!shared.includes('CAP_NET_ADMIN') && !shared.includes('CAP_NET_RAW'));
});

test('AppArmor: Docker\'s profile kept, "unconfined" replaced by the loaded fallback', () => {
  const s = privilegedSpec();
  assert.equal(
    rewriteSpec(s, { ...ctx('own'), apparmorFallback: 'docker-default' }).spec.process.apparmorProfile,
    'docker-default',
  );
  s.process.apparmorProfile = 'my-profile';
  assert.equal(rewriteSpec(s, ctx('own')).spec.process.apparmorProfile, 'my-profile');
});

test('--read-only: the root is bound read-only last, after the volumes mounted under it', () => {
  const mounts = rewriteSpec(privilegedSpec(), ctx('own')).spec.mounts!;
  const last = mounts[mounts.length - 1]!;
  assert.deepEqual(last, {
    destination: '/vm',
    type: 'bind',
    source: '/opt/runcvm/rt/vm',
    options: ['rbind', 'ro', 'rprivate', 'nosuid', 'nodev'],
  });
  assert.ok(mounts.findIndex((m) => m.destination === '/vm/data') < mounts.length - 1);
  const tmp = privilegedSpec();
  tmp.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  tmp.mounts!.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: [] });
  const inImage = new Set(['/tmp', '/seed']);
  const withTmpfs = rewriteSpec(tmp, {
    ...ctx('own'),
    guestMountPoints: ['/disk', '/seed'],
    existsInImage: (p) => inImage.has(p),
  }).spec.mounts!;
  const dests = withTmpfs.slice(-3).map((m) => `${m.destination} ${m.type}`);
  assert.deepEqual(
    dests,
    ['/vm/scratch tmpfs', '/vm/disk tmpfs', '/vm bind'],
    'missing mount points made while /vm is writable, existing ones untouched',
  );
  const rw = privilegedSpec();
  rw.root.readonly = false;
  assert.ok(
    !rewriteSpec(rw, ctx('own')).spec.mounts!.some((m) => m.destination === '/vm' && m.options!.includes('ro')),
  );
});

test('seccomp: no namespace creation of any type, clone3 ENOSYS, native ABI only', () => {
  const p = launcherSeccomp('x64');
  assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW');
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64']);
  const userns = p.syscalls!.filter(
    (r) => r.names.includes('unshare') && (r.args as { value: number }[])[0]!.value === 0x10000000,
  );
  assert.equal(userns.length, 1);
  assert.ok(p.syscalls!.some((r) => r.names.includes('mount') && r.action === 'SCMP_ACT_ERRNO'));
  assert.ok(p.syscalls!.some((r) => r.names.includes('clone3') && r.errnoRet === 38));
  assert.throws(() => launcherSeccomp('mips'), /unsupported host architecture "mips"/);
});

test('a coverage install binds its dir into the launcher and sets NODE_V8_COVERAGE; others get neither', () => {
  const plain = rewriteSpec(privilegedSpec(), ctx('own')).spec;
  assert.ok(!plain.process.env?.some((e) => e.startsWith('NODE_V8_COVERAGE=')));
  assert.ok(!plain.mounts?.some((m) => m.destination === '/run/runcvm-coverage'));
  const cov = rewriteSpec(privilegedSpec(), { ...ctx('own'), coverageDir: '/src/build/coverage/v8' }).spec;
  assert.ok(cov.process.env?.includes('NODE_V8_COVERAGE=/run/runcvm-coverage'));
  const m = cov.mounts?.find((x) => x.destination === '/run/runcvm-coverage');
  assert.equal(m?.source, '/src/build/coverage/v8');
  assert.ok(m?.options?.includes('noexec') && m.options.includes('nosuid'));
  // After the /run tmpfs, or the tmpfs would hide it.
  const at = (d: string) => cov.mounts!.findIndex((x) => x.destination === d);
  assert.ok(at('/run/runcvm-coverage') > at('/run'));
});
