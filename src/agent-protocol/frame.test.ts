import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, HEADER_SIZE, MAX_PAYLOAD, MsgType } from './frame.ts';
import {
  ConfigTag,
  decodeExit,
  encodeConfig,
  encodeNic,
  encodeRoute,
  encodeStart,
  encodeUpdate,
  exitCode,
  StartTag,
} from './messages.ts';
import { readTlv } from './testdata/tlv-reader.ts';

test('header layout is the documented one', () => {
  const f = encodeFrame(MsgType.STDOUT, 7, Buffer.from('hi'));
  assert.deepEqual([...f], [2, 0, 0, 0, 0x05, 0, 0, 0, 7, 0, 0, 0, 0x68, 0x69]);
});

test('decoder reassembles frames split at every byte boundary', () => {
  const stream = Buffer.concat([
    encodeFrame(MsgType.STDOUT, 1, Buffer.from('out')),
    encodeFrame(MsgType.STDERR, 1, Buffer.alloc(0)),
    encodeFrame(MsgType.EXIT, 1, Buffer.from([0, 0, 0, 0, 3, 0, 0, 0])),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const d = new FrameDecoder();
    const frames = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.type, f.id, f.payload.toString()]),
      [
        [MsgType.STDOUT, 1, 'out'],
        [MsgType.STDERR, 1, ''],
        [MsgType.EXIT, 1, '\0\0\0\0\x03\0\0\0'],
      ],
    );
  }
});

test('an oversized frame is a protocol error', () => {
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt32LE(MAX_PAYLOAD + 1, 0);
  assert.throws(() => new FrameDecoder().push(h), /exceeds/);
});

test('START carries argv, env, ids and groups as TLV records in order', () => {
  const recs = readTlv(
    encodeStart({
      args: ['sh', '-c', 'x'],
      env: ['A=1'],
      cwd: '/w',
      uid: 1001,
      gid: 1001,
      groups: [50, 44],
      terminal: false,
    }),
  );
  const args = recs.filter((r) => r.tag === StartTag.ARG).map((r) => r.value.toString());
  assert.deepEqual(args, ['sh', '-c', 'x']);
  const groups = recs.filter((r) => r.tag === StartTag.GROUP).map((r) => r.value.readUInt32LE(0));
  assert.deepEqual(groups, [50, 44]);
  assert.equal(recs.find((r) => r.tag === StartTag.UID)?.value.readUInt32LE(0), 1001);
});

test('START of a pod-VM container (protocol 3): CONTAINER, HOSTNAME, MEMORY_MAX as u64, SHARE_PID; an exec into it: JOIN', () => {
  const p = { args: ['httpd'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false };
  const recs = readTlv(
    encodeStart(p, { kind: 'container', name: 'abc', hostname: 'web', memoryMaxBytes: 2 ** 33, sharePid: true }),
  );
  const value = (tag: number) => recs.find((r) => r.tag === tag)?.value;
  assert.equal(value(StartTag.CONTAINER)?.toString(), 'abc');
  assert.equal(value(StartTag.HOSTNAME)?.toString(), 'web');
  assert.equal(value(StartTag.MEMORY_MAX)?.readBigUInt64LE(0), 2n ** 33n);
  assert.deepEqual([...(value(StartTag.SHARE_PID) ?? [])], [1]);
  assert.equal(value(StartTag.JOIN), undefined);
  const cpu = readTlv(
    encodeStart(p, { kind: 'container', name: 'abc', cpuMax: { quotaUs: 50_000, periodUs: 100_000 } }),
  ).find((r) => r.tag === StartTag.CPU_MAX)?.value;
  assert.deepEqual([cpu?.readBigUInt64LE(0), cpu?.readBigUInt64LE(8)], [50_000n, 100_000n]);
  const plain = readTlv(encodeStart(p, { kind: 'container', name: 'abc' }));
  assert.deepEqual(
    plain.filter((r) => r.tag >= StartTag.CONTAINER).map((r) => r.tag),
    [StartTag.CONTAINER],
  );
  const join = readTlv(encodeStart(p, { kind: 'join', name: 'abc' }));
  assert.deepEqual(
    join.filter((r) => r.tag >= StartTag.CONTAINER).map((r) => [r.tag, r.value.toString()]),
    [[StartTag.JOIN, 'abc']],
  );
});

test('START with CPU_WEIGHT (u32) for a container; UPDATE carries only the limits that change, 0 lifting one', () => {
  const p = { args: ['httpd'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false };
  const w = readTlv(encodeStart(p, { kind: 'container', name: 'abc', cpuWeight: 39 })).find(
    (r) => r.tag === StartTag.CPU_WEIGHT,
  )?.value;
  assert.equal(w?.readUInt32LE(0), 39);
  const recs = readTlv(encodeUpdate({ name: 'abc', memoryMaxBytes: 0, cpuMax: { quotaUs: 0, periodUs: 100_000 } }));
  assert.deepEqual(
    recs.map((r) => r.tag),
    [StartTag.ARG, StartTag.UPDATE, StartTag.MEMORY_MAX, StartTag.CPU_MAX],
  );
  assert.equal(recs[1]?.value.toString(), 'abc');
  assert.equal(recs[2]?.value.readBigUInt64LE(0), 0n);
  const weightOnly = readTlv(encodeUpdate({ name: 'abc', cpuWeight: 100 }));
  assert.deepEqual(
    weightOnly.map((r) => r.tag),
    [StartTag.ARG, StartTag.UPDATE, StartTag.CPU_WEIGHT],
  );
});

test('CONFIG tmpfs record is flags then destination NUL data', () => {
  const recs = readTlv(
    encodeConfig({
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: false,
      debug: false,
      mounts: [{ kind: 'tmpfs', destination: '/run', flags: 8, data: 'size=64m' }],
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
    }),
  );
  const t = recs.find((r) => r.tag === ConfigTag.TMPFS);
  assert.ok(t);
  assert.equal(t.value.readUInt32LE(0), 8);
  assert.equal(t.value.subarray(4).toString(), '/run\0size=64m');
});

test('exit status maps signals to 128+N like runc', () => {
  assert.equal(exitCode(decodeExit(Buffer.from([1, 0, 0, 0, 9, 0, 0, 0]))), 137);
  assert.equal(exitCode(decodeExit(Buffer.from([0, 0, 0, 0, 3, 0, 0, 0]))), 3);
  assert.deepEqual(
    decodeExit(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0])),
    { kind: 'exited', code: 0, writebackFailed: true },
    'a failed image-root write-back is flagged',
  );
  assert.equal(decodeExit(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])).writebackFailed, undefined);
});

test('NIC and ROUTE records have the documented byte layout', () => {
  const nic = encodeNic({
    name: 'eth0',
    mac: '02:42:ac:11:00:04',
    mtu: 1450,
    ipv4: { address: '172.17.0.4', prefix: 16 },
  });
  assert.deepEqual([...nic], [2, 0x42, 0xac, 0x11, 0, 4, 0xaa, 0x05, 16, 0, 172, 17, 0, 4, ...Buffer.from('eth0')]);
  const def = encodeRoute({ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' });
  assert.deepEqual([...def], [0, 0, 0, 0, 0, 0, 0, 0, 172, 17, 0, 1, ...Buffer.from('eth0')]);
  const net = encodeRoute({ dst: '10.9.0.0/24', dev: 'eth1' });
  assert.deepEqual([...net.subarray(0, 12)], [10, 9, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => encodeRoute({ dst: '300.1.1.1/8', dev: 'x' }), /not an IPv4 address/);
});
