import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { describeError } from '../../contracts/errors.ts';
import { qemuControl } from './control.ts';
import { Qmp, QmpError } from './qmp.ts';
import { stubQmp } from './testdata/stub-qmp.ts';

test('negotiates capabilities, matches replies to commands, surfaces QMP errors', async () => {
  const stub = await stubQmp((c) =>
    c.execute === 'balloon'
      ? '{"error": {"class": "GenericError", "desc": "No balloon device has been activated"}}'
      : '{"return": {"actual": 268435456}}',
  );
  try {
    const qmp = await Qmp.connect(stub.path, 2000);
    assert.deepEqual(await qmp.execute('query-balloon'), { actual: 268435456 });
    await assert.rejects(
      qmp.execute('balloon', { value: 1 }),
      (e: unknown) => e instanceof QmpError && /qmp balloon: GenericError: No balloon device/.test(e.message),
    );
    qmp.close();
    assert.deepEqual(stub.seen, [
      { execute: 'qmp_capabilities' },
      { execute: 'query-balloon' },
      { execute: 'balloon', arguments: { value: 1 } },
    ]);
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});

test('the QEMU control sends sizes in bytes and returns vCPU threads in vCPU order', async () => {
  const stub = await stubQmp((c) => {
    if (c.execute === 'query-cpus-fast')
      return '{"return": [{"cpu-index": 1, "thread-id": 42}, {"cpu-index": 0, "thread-id": 41}]}';
    if (c.execute === 'query-balloon') return '{"return": {"actual": 536870912}}';
    return '{"return": {}}';
  });
  try {
    const ctl = qemuControl(await Qmp.connect(stub.path));
    assert.deepEqual(await ctl.vcpuThreads(), [41, 42]);
    assert.equal(await ctl.balloon.actualMiB(), 512);
    await ctl.balloon.setTargetMiB(256);
    ctl.close();
    assert.deepEqual(stub.seen.at(-1), { execute: 'balloon', arguments: { value: 256 * 1024 * 1024 } });
  } finally {
    stub.server.close();
    rmSync(stub.dir, { recursive: true });
  }
});

test('a socket that never greets fails with the path and the deadline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-qmp-'));
  const path = join(dir, 'qmp.sock');
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await assert.rejects(
      Qmp.connect(path, 100),
      (e: unknown) => describeError(e) === `qmp ${path}: no greeting within 100 ms`,
    );
  } finally {
    server.close();
    rmSync(dir, { recursive: true });
  }
});

/**
 * A QMP peer on an in-process stream, as the update relay's stdio is one: `send` reaches the
 * client; `onLine` sees each command the client writes and may answer.
 */
function fakePeer(onLine: (execute: string, send: (s: string | Buffer) => void) => void) {
  let buf = '';
  const peer = {
    destroyed: false,
    send: (s: string | Buffer) => void (peer.destroyed || stream.push(s)),
  };
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        onLine((JSON.parse(buf.slice(0, nl)) as { execute: string }).execute, peer.send);
        buf = buf.slice(nl + 1);
      }
      cb();
    },
    destroy(err, cb) {
      peer.destroyed = true;
      cb(err);
    },
  });
  return {
    ...peer,
    stream,
    get destroyed() {
      return peer.destroyed;
    },
  };
}

const GREETING = '{"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}}\r\n';
const OPTS = { label: 'container 0123456789ab', timeoutMs: 200 };

/** Greets, answers qmp_capabilities, then every other command with `reply` (undefined: silence). */
function handshakePeer(reply: (execute: string, send: (s: string | Buffer) => void) => string | undefined) {
  const peer = fakePeer((execute, send) => {
    const r = execute === 'qmp_capabilities' ? '{"return": {}}' : reply(execute, send);
    if (r !== undefined) send(`${r}\r\n`);
  });
  peer.send(GREETING);
  return peer;
}

test('over a stream: replies arriving a byte at a time, events in between, work; close destroys the stream', async () => {
  const peer = handshakePeer((_execute, send) => {
    const bytes = Buffer.from(
      '{"event": "BALLOON_CHANGE", "data": {"actual": 1}}\n{"return": {"actual": 536870912, "id": "bé"}}\n',
    );
    for (const b of bytes) send(Buffer.from([b]));
    return undefined;
  });
  const qmp = await Qmp.open(peer.stream, OPTS);
  assert.deepEqual(await qmp.execute('query-balloon'), { actual: 536870912, id: 'bé' });
  assert.deepEqual(await qmp.execute('query-balloon'), { actual: 536870912, id: 'bé' });
  qmp.close();
  assert.equal(peer.destroyed, true);
  await assert.rejects(
    qmp.execute('query-balloon'),
    (e: unknown) => describeError(e) === 'qmp container 0123456789ab: closed',
  );
});

test('an endless reply line is an error naming the peer, not unbounded memory; the stream is destroyed', async () => {
  let sent = 0;
  const peer = handshakePeer((_execute, send) => {
    // 64 KiB chunks without a newline, for as long as the client keeps the stream open.
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    const flood = () => {
      if (peer.destroyed || sent > 64 * 1024 * 1024) return;
      send(chunk);
      sent += chunk.length;
      setImmediate(flood);
    };
    flood();
    return undefined;
  });
  const qmp = await Qmp.open(peer.stream, { ...OPTS, timeoutMs: 10_000 });
  await assert.rejects(
    qmp.execute('query-balloon'),
    (e: unknown) =>
      describeError(e) ===
      'qmp container 0123456789ab: the peer sent a line longer than 1048576 bytes (QMP replies are short)',
  );
  assert.equal(peer.destroyed, true);
  assert.ok(sent <= 2 * 1024 * 1024, `the client stopped reading after ${sent} bytes`);
});

test('an endless greeting fails the handshake the same way', async () => {
  const peer = fakePeer(() => {});
  peer.send(Buffer.alloc(2 * 1024 * 1024, 0x78));
  await assert.rejects(Qmp.open(peer.stream, OPTS), (e: unknown) =>
    /^qmp container 0123456789ab: the peer sent a line longer than 1048576 bytes/.test(describeError(e)),
  );
  assert.equal(peer.destroyed, true);
});

test('a command with no reply times out, and the connection is not reused (a late reply would be misread)', async () => {
  const peer = handshakePeer((execute) => (execute === 'query-balloon' ? undefined : '{"return": {}}'));
  const qmp = await Qmp.open(peer.stream, OPTS);
  await assert.rejects(
    qmp.execute('query-balloon'),
    (e: unknown) => describeError(e) === 'qmp container 0123456789ab: query-balloon: no reply within 200 ms',
  );
  assert.equal(peer.destroyed, true);
  await assert.rejects(qmp.execute('query-cpus-fast'), (e: unknown) =>
    /query-balloon: no reply within 200 ms/.test(describeError(e)),
  );
});

test('no greeting, or no answer to qmp_capabilities, fails the handshake within the deadline', async () => {
  const silent = fakePeer(() => {});
  await assert.rejects(
    Qmp.open(silent.stream, OPTS),
    (e: unknown) => describeError(e) === 'qmp container 0123456789ab: no greeting within 200 ms',
  );
  assert.equal(silent.destroyed, true);
  const mute = fakePeer(() => {});
  mute.send(GREETING);
  await assert.rejects(
    Qmp.open(mute.stream, OPTS),
    (e: unknown) => describeError(e) === 'qmp container 0123456789ab: qmp_capabilities: no reply within 200 ms',
  );
  assert.equal(mute.destroyed, true);
});

test('a reply that is not a QMP object fails the connection instead of throwing in the reader', async () => {
  for (const bad of ['null', '[1]', '"\u001b[2J"', 'not json']) {
    const peer = handshakePeer(() => bad);
    const qmp = await Qmp.open(peer.stream, OPTS);
    await assert.rejects(qmp.execute('query-balloon'), (e: unknown) =>
      /^qmp container 0123456789ab: not a QMP message: "/.test(describeError(e)),
    );
    assert.equal(peer.destroyed, true);
  }
});

test('a stream that errors or closes rejects what waits on it, with the cause', async () => {
  const peer = handshakePeer(() => undefined);
  const qmp = await Qmp.open(peer.stream, OPTS);
  const pending = qmp.execute('query-balloon');
  peer.stream.destroy(new Error('runc exec qmp-relay exited (status 1): no such container'));
  await assert.rejects(
    pending,
    (e: unknown) =>
      describeError(e) === 'qmp container 0123456789ab: runc exec qmp-relay exited (status 1): no such container',
  );
});

test('the QEMU control refuses replies of the wrong shape (thread ids go on a command line)', async () => {
  const peer = handshakePeer((execute) =>
    execute === 'query-cpus-fast'
      ? '{"return": [{"cpu-index": 0, "thread-id": "-a"}]}'
      : '{"return": {"actual": "lots"}}',
  );
  const ctl = qemuControl(await Qmp.open(peer.stream, OPTS));
  await assert.rejects(
    ctl.vcpuThreads(),
    /^Error: qmp query-cpus-fast: unexpected reply \[\{"cpu-index":0,"thread-id":"-a"\}\]/,
  );
  await assert.rejects(ctl.balloon.actualMiB(), /^Error: qmp query-balloon: unexpected reply \{"actual":"lots"\}/);
  ctl.close();
});
