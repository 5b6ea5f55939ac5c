/** The handover state (handover.ts) against the C side's header, and its bytes. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { readTlv } from '../agent-protocol/testdata/tlv-reader.ts';
import { EXEC_PORT_ENV, EXEC_START_ENV, type LaunchSpec } from '../contracts/launch-spec.ts';
import { encodeHandover, HandoverFlag, HandoverTag, parseStderrPipes } from './handover.ts';
import { MAX_BYTES as POD_LOG_MAX } from './pod-log.ts';

const HEADER = readFileSync(new URL('./supervisor/handover.h', import.meta.url), 'utf8');

function cEnum(name: string, prefix: string): Record<string, number> {
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(HEADER)?.[1];
  assert.ok(body, `handover.h has enum ${name}`);
  const out: Record<string, number> = {};
  for (const m of body.matchAll(/^\s*([A-Z_0-9]+)\s*=\s*(\d+),/gm))
    out[(m[1] as string).slice(prefix.length)] = Number(m[2]);
  return out;
}

test('handover.h: the same tags and flags as handover.ts', () => {
  assert.deepEqual(cEnum('handover_tag', 'HO_'), { ...HandoverTag });
  assert.deepEqual(cEnum('handover_flag', 'HOF_'), { ...HandoverFlag });
});

const records = (b: Buffer): [number, Buffer][] => readTlv(b).map((r) => [r.tag, r.value]);

test('the state carries the VMM, the payloads, the flags and the net-sync command', () => {
  const spec = {
    process: { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: true },
    runtimeDebug: false,
    network: 'own',
    timing: { createStartMs: 1, createEndMs: 2 },
    printTiming: true,
  } as unknown as LaunchSpec;
  const b = encodeHandover({
    spec,
    config: {
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: false,
      mounts: [],
      debug: false,
      network: { ifaces: [], routes: [], dnsRelay: true, spares: [] },
    },
    agentSocket: '/run/runcvm/agent.sock',
    consoleLog: '/run/runcvm/console.log',
    vmmName: 'qemu',
    vmmPid: 42,
    helperPids: [43, 44],
    helloTimeoutMs: 1000,
    startedTimeoutMs: 2000,
    dnsRelay: true,
    podSocket: true,
    writtenBackMarker: '/.runcvm-disks/written-back',
    netSync: ['/usr/bin/node', '/x/runcvm.mjs', 'launcher', '--net-sync'],
    timing: { vmmSpawnMs: 3 },
  });
  const r = records(b);
  const one = (tag: number) => r.filter(([t]) => t === tag).map(([, v]) => v);
  assert.equal(one(HandoverTag.VMM_PID)[0]?.readUInt32LE(0), 42);
  assert.deepEqual(
    one(HandoverTag.HELPER_PID).map((v) => v.readUInt32LE(0)),
    [43, 44],
  );
  assert.equal(
    one(HandoverTag.FLAGS)[0]?.readUInt32LE(0),
    HandoverFlag.TERMINAL |
      HandoverFlag.DNS_RELAY |
      HandoverFlag.NET_WATCH |
      HandoverFlag.PRINT_TIMING |
      HandoverFlag.POD_SOCKET,
  );
  assert.deepEqual(
    one(HandoverTag.NET_SYNC_ARG).map((v) => v.toString()),
    ['/usr/bin/node', '/x/runcvm.mjs', 'launcher', '--net-sync'],
  );
  assert.deepEqual(JSON.parse(one(HandoverTag.TIMING)[0]?.toString() ?? ''), {
    createStartMs: 1,
    createEndMs: 2,
    vmmSpawnMs: 3,
  });
  assert.equal(one(HandoverTag.START)[0]?.includes(Buffer.from('sh')), true);
});

test('a Firecracker state names the vsock port to CONNECT to and the API socket; a QEMU state neither', () => {
  const base = {
    spec: {
      process: { args: ['true'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false },
      timing: {},
    } as unknown as LaunchSpec,
    config: {
      hostname: 'h',
      rootTag: '',
      rootReadonly: false,
      mounts: [],
      debug: false,
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
    },
    agentSocket: '/run/runcvm/fc-vsock.sock',
    consoleLog: '',
    vmmName: 'firecracker',
    vmmPid: 42,
    helperPids: [],
    helloTimeoutMs: 1000,
    startedTimeoutMs: 2000,
    dnsRelay: false,
    podSocket: false,
    writtenBackMarker: '',
    netSync: [],
    timing: {},
  };
  const fc = records(
    encodeHandover({ ...base, firecracker: { vsockPort: 1024, apiSocket: '/run/runcvm/fc-api.sock' } }),
  );
  const one = (r: [number, Buffer][], tag: number) => r.find(([t]) => t === tag)?.[1];
  assert.equal(one(fc, HandoverTag.VSOCK_PORT)?.readUInt32LE(0), 1024);
  assert.equal(one(fc, HandoverTag.API_SOCKET)?.toString(), '/run/runcvm/fc-api.sock');
  assert.equal(one(fc, HandoverTag.VMM_NAME)?.toString(), 'firecracker');
  const qemu = records(encodeHandover({ ...base, vmmName: 'qemu' }));
  assert.equal(one(qemu, HandoverTag.VSOCK_PORT), undefined);
  assert.equal(one(qemu, HandoverTag.API_SOCKET), undefined);
});

test("the supervisor's stderr pipes: four distinct descriptors above 2, or none outside the supervisor", () => {
  assert.equal(parseStderrPipes(undefined), undefined);
  assert.equal(parseStderrPipes(''), undefined);
  assert.deepEqual(parseStderrPipes('4,5,6,7'), { vmm: { read: 4, write: 5 }, fileServer: { read: 6, write: 7 } });
  for (const bad of ['4,5,6', '4,5,6,7,8', '2,5,6,7', '4,4,6,7', '4,5,6,x', '4,5,6,-7', '4,5,6,99999'])
    assert.throws(() => parseStderrPipes(bad), /RUNCVM_SUPERVISOR_STDERR: .* is not four distinct descriptors/, bad);
});

test("a pod VM's and a 9P container's records: pod log, PortForward, teardown commands NUL-separated", () => {
  const spec = {
    process: { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false },
    runtimeDebug: false,
    network: 'own',
    timing: {},
  } as unknown as LaunchSpec;
  const base = {
    spec,
    config: {
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: false,
      mounts: [],
      debug: false,
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
    },
    agentSocket: '/a',
    consoleLog: '/c',
    vmmName: 'qemu',
    vmmPid: 42,
    helperPids: [43],
    helloTimeoutMs: 1,
    startedTimeoutMs: 1,
    dnsRelay: false,
    podSocket: false,
    writtenBackMarker: '/w',
    netSync: [],
    timing: {},
  };
  const r = records(
    encodeHandover({
      ...base,
      podLog: { path: '/run/runcvm-pod-log/launcher.log', budget: 1000 },
      portForward: { port: 40000, client: '/opt/runcvm/bin/runcvm-exec', start: 'AAAA' },
      stopCommands: [
        ['iptables', '-D', 'INPUT'],
        ['ip', 'link', 'del', 'tap-vol-1'],
      ],
    }),
  );
  const one = (tag: number) => r.filter(([t]) => t === tag).map(([, v]) => v);
  assert.equal(one(HandoverTag.POD_LOG)[0]?.toString(), '/run/runcvm-pod-log/launcher.log');
  assert.equal(one(HandoverTag.POD_LOG_BUDGET)[0]?.readUInt32LE(0), 1000);
  assert.equal(one(HandoverTag.PORT_FORWARD_PORT)[0]?.readUInt32LE(0), 40000);
  assert.equal(one(HandoverTag.PORT_FORWARD_START)[0]?.toString(), 'AAAA');
  assert.deepEqual(
    one(HandoverTag.STOP_CMD).map((v) => v.toString().split('\0')),
    [
      ['iptables', '-D', 'INPUT'],
      ['ip', 'link', 'del', 'tap-vol-1'],
    ],
  );
  // None of them for a plain container.
  const plain = records(encodeHandover(base)).map(([t]) => t);
  for (const t of [HandoverTag.POD_LOG, HandoverTag.PORT_FORWARD_PORT, HandoverTag.STOP_CMD])
    assert.ok(!plain.includes(t));
  // An argument the C side could not split back.
  for (const bad of [[], ['ip', ''], ['ip', 'a\0b']])
    assert.throws(() => encodeHandover({ ...base, stopCommands: [bad] }), /teardown command/);
});

test("portfwd.h: runcvm-exec's environment names as launch-spec.ts", () => {
  const h = readFileSync(new URL('./supervisor/portfwd.h', import.meta.url), 'utf8');
  assert.match(h, new RegExp(`#define PF_START_ENV\\s+"${EXEC_START_ENV}"`));
  assert.match(h, new RegExp(`#define PF_PORT_ENV\\s+"${EXEC_PORT_ENV}"`));
  const p = readFileSync(new URL('./supervisor/podlog.h', import.meta.url), 'utf8');
  assert.match(p, /#define POD_LOG_MAX \(1024u \* 1024\)/);
  assert.equal(POD_LOG_MAX, 1024 * 1024);
});
