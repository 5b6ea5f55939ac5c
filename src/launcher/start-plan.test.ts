/** The start plan (start-plan.ts): what create hands runcvm-supervisor, built with the launcher's builders. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readTlv } from '../agent-protocol/testdata/tlv-reader.ts';
import type { LaunchSpec } from '../contracts/launch-spec.ts';
import { sampleLaunchSpec } from '../contracts/testdata/launch-spec.ts';
import type { NetworkPlan } from '../network/setup.ts';
import { userNetwork } from '../network/setup.ts';
import { QEMU_BINARY, VIRTIOFSD_BINARY } from '../vmm/qemu/driver.ts';
import { HandoverFlag, HandoverTag } from './handover.ts';
import { encodeStartPlan, planStart, startingLine } from './start-plan.ts';

const SPEC = sampleLaunchSpec({ printTiming: true });

const TAPPED: NetworkPlan = {
  nics: [{ id: 'net0', mac: '02:42:ac:11:00:02', backend: { kind: 'tap', tap: 'tap-eth0' } }],
  guest: {
    ifaces: [{ name: 'eth0', mac: '02:42:ac:11:00:02', mtu: 1500, ipv4: { address: '172.17.0.2', prefix: 16 } }],
    routes: [{ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' }],
    dnsRelay: false,
    spares: [],
  },
};

const NET_SYNC = ['/usr/bin/node', '--no-warnings', '/opt/runcvm/lib/runcvm.mjs', 'launcher', '--net-sync'];

const records = (b: Buffer): [number, Buffer][] => readTlv(b).map((r) => [r.tag, r.value]);

test('the plan: virtiofsd for the root, QEMU with the tap the handoff made, the handover state without pids', () => {
  const p = planStart({ spec: SPEC, net: TAPPED, netSync: NET_SYNC, podSocket: false, timing: { startPlanMs: 5 } });
  assert.equal(p.fsArgv[0], VIRTIOFSD_BINARY);
  assert.ok(p.fsArgv.includes('--socket-path=/run/runcvm/fs-root.sock'));
  assert.ok(p.fsArgv.includes('source=/vm'));
  assert.equal(p.fsSocket, '/run/runcvm/fs-root.sock');
  assert.equal(p.vmmArgv[0], QEMU_BINARY);
  assert.ok(p.vmmArgv.includes('tap,id=net0,ifname=tap-eth0,script=no,downscript=no'));
  assert.ok(p.vmmArgv.includes('runcvm-0123456789ab,debug-threads=on'));
  assert.equal(p.config.rootTag, 'root');
  assert.deepEqual(p.config.network, TAPPED.guest);
  assert.equal(p.agentSocket, '/run/runcvm/agent.sock');
  assert.equal(p.startLine, startingLine(SPEC));
  assert.match(p.startLine, /^starting: qemu \(tcg\), 1 vCPU\(s\), 512 MiB, root virtiofs$/);

  const r = records(encodeStartPlan(p));
  const all = (tag: number) => r.filter(([t]) => t === tag).map(([, v]) => v.toString());
  assert.deepEqual(all(HandoverTag.FS_ARG), p.fsArgv);
  assert.deepEqual(all(HandoverTag.VMM_ARG), p.vmmArgv);
  assert.deepEqual(all(HandoverTag.FS_SOCKET), ['/run/runcvm/fs-root.sock']);
  assert.deepEqual(all(HandoverTag.START_LINE), [p.startLine]);
  assert.deepEqual(all(HandoverTag.NET_SYNC_ARG), NET_SYNC);
  // The network watch's first look compares the namespace with these (supervisor/netwatch.c).
  assert.deepEqual(all(HandoverTag.NET_IFACES), ['eth0']);
  // The supervisor learns the pids by spawning: none in the plan.
  assert.deepEqual(all(HandoverTag.VMM_PID), []);
  assert.deepEqual(all(HandoverTag.HELPER_PID), []);
  const flags = r.find(([t]) => t === HandoverTag.FLAGS)?.[1].readUInt32LE(0) ?? 0;
  assert.equal(flags, HandoverFlag.NET_WATCH | HandoverFlag.PRINT_TIMING);
  assert.deepEqual(JSON.parse(all(HandoverTag.TIMING)[0] ?? ''), { createStartMs: 1, createEndMs: 2, startPlanMs: 5 });
});

test('a shared namespace gets user networking; RUNCVM_KERNEL_DEBUG puts the console on stderr with its flag', () => {
  const spec: LaunchSpec = { ...SPEC, network: 'shared', kernelDebug: true };
  const p = planStart({ spec, net: userNetwork(true), netSync: NET_SYNC, podSocket: true, timing: {} });
  assert.ok(p.vmmArgv.includes('user,id=net0'));
  // A shared namespace is not watched: no interfaces to compare.
  assert.equal(records(encodeStartPlan(p)).filter(([t]) => t === HandoverTag.NET_IFACES).length, 0);
  assert.ok(p.vmmArgv.includes('stdio,id=con,signal=off'));
  assert.equal(p.consoleToStderr, true);
  const flags =
    records(encodeStartPlan(p))
      .find(([t]) => t === HandoverTag.FLAGS)?.[1]
      .readUInt32LE(0) ?? 0;
  assert.equal(
    flags,
    HandoverFlag.DNS_RELAY | HandoverFlag.PRINT_TIMING | HandoverFlag.POD_SOCKET | HandoverFlag.CONSOLE_STDERR,
  );
});

test('an image root: its drives by their paths in the sandbox, the virtiofs share kept for volumes', () => {
  const spec: LaunchSpec = { ...SPEC, rootImage: { mode: 'image', lowers: ['l0.ext4'], upper: 'upper.ext4' } };
  const p = planStart({ spec, net: TAPPED, netSync: NET_SYNC, podSocket: false, timing: {} });
  assert.ok(p.vmmArgv.some((a) => a.startsWith('id=layer0,file=/.runcvm-disks/l0.ext4,')));
  assert.ok(p.vmmArgv.some((a) => a.startsWith('id=upper,file=/.runcvm-disks/upper.ext4,')));
  assert.match(p.startLine, /root image$/);
});

test('what only the Node launcher prepares is refused: RUNCVM_DISKS, --cpuset-cpus, 9P volumes, Firecracker', () => {
  const disk = { src: '/d.img', dst: '/data', fs: 'ext4', serial: 'runcvm-disk0' };
  for (const spec of [
    { ...SPEC, disks: [disk] },
    { ...SPEC, hostCpus: [0] },
    { ...SPEC, hypervisor: 'firecracker' },
  ] as LaunchSpec[])
    assert.throws(
      () => planStart({ spec, net: TAPPED, netSync: NET_SYNC, podSocket: false, timing: {} }),
      /the start plan covers QEMU/,
    );
});

test('interface names the C side cannot take are refused before the plan is written', () => {
  const bad = (name: string): NetworkPlan => ({
    ...TAPPED,
    guest: { ...TAPPED.guest, ifaces: [{ ...(TAPPED.guest.ifaces[0] as NetworkPlan['guest']['ifaces'][0]), name }] },
  });
  for (const name of ['', 'a-name-of-16-chrs', 'a\0b']) {
    const p = planStart({ spec: SPEC, net: bad(name), netSync: NET_SYNC, podSocket: false, timing: {} });
    assert.throws(() => encodeStartPlan(p), /interface names .*at most 16, each 1-15 bytes without NUL/);
  }
});

test("a Swarm task's plan leaves the first look to the net-sync step (the routing mesh's redirects)", () => {
  const p = planStart({
    spec: { ...SPEC, swarmTask: true },
    net: TAPPED,
    netSync: NET_SYNC,
    podSocket: false,
    timing: {},
  });
  assert.equal(records(encodeStartPlan(p)).filter(([t]) => t === HandoverTag.NET_IFACES).length, 0);
});
