import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { decodeWindow, GRANT_BATCH, STREAM_WINDOW } from '../agent-protocol/flow.ts';
import { encodeFrame, type Frame, FrameDecoder, MsgType, PROTOCOL_VERSION } from '../agent-protocol/frame.ts';
import { AgentSession } from './agent-session.ts';

/** The guest's end of a channel: frames the host wrote, and a way to send frames to the host. */
function channel(): { stream: Duplex; sent: Frame[]; guest(type: number, id: number, payload?: Buffer): void } {
  const decoder = new FrameDecoder();
  const sent: Frame[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      sent.push(...decoder.push(chunk));
      cb();
    },
  });
  return { stream, sent, guest: (type, id, payload) => stream.push(encodeFrame(type as never, id, payload)) };
}

const tick = () => new Promise((r) => setImmediate(r));
const windows = (sent: Frame[], id: number) =>
  sent.filter((f) => f.type === MsgType.WINDOW && f.id === id).map((f) => decodeWindow(f.payload));

test('credit goes back only as the consumer takes the bytes, per stream and per process', async () => {
  const ch = channel();
  const session = new AgentSession(ch.stream, () => {});
  const held: Array<() => void> = [];
  const process = { args: ['yes'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false };
  void session.start(2, process, {
    stdout: (_d, done) => held.push(done),
    stderr: (_d, done) => done(),
    started: () => {},
  });
  const chunk = Buffer.alloc(GRANT_BATCH / 2);
  for (let i = 0; i < STREAM_WINDOW / chunk.length; i++) ch.guest(MsgType.STDOUT, 2, chunk);
  ch.guest(MsgType.STDERR, 2, Buffer.alloc(GRANT_BATCH));
  await tick();
  assert.equal(session.heldOutput(), STREAM_WINDOW);
  assert.deepEqual(windows(ch.sent, 2), [{ stdout: 0, stderr: GRANT_BATCH }]);
  held.shift()?.();
  await tick();
  assert.equal(windows(ch.sent, 2).length, 1, 'half a batch is not granted yet');
  const second = held.shift();
  second?.();
  second?.(); // a second call of the same done counts once
  await tick();
  assert.deepEqual(windows(ch.sent, 2)[1], { stdout: GRANT_BATCH, stderr: 0 });
  assert.equal(session.heldOutput(), STREAM_WINDOW - GRANT_BATCH);
});

test('a guest that sends past its window ends the session', async () => {
  const ch = channel();
  const session = new AgentSession(ch.stream, () => {});
  session.startRaw(3, Buffer.alloc(0), () => {});
  for (let sent = 0; sent <= STREAM_WINDOW; sent += 64 * 1024) ch.guest(MsgType.STDOUT, 3, Buffer.alloc(64 * 1024));
  const e = await session.failed;
  assert.match(e.message, /process 3 sent more stdout than its flow-control window/);
});

test('output for a process the host does not know is dropped, not buffered', async () => {
  const ch = channel();
  const session = new AgentSession(ch.stream, () => {});
  ch.guest(MsgType.STDOUT, 9, Buffer.alloc(1000));
  await tick();
  assert.equal(session.heldOutput(), 0);
});

test('the host says HELLO with its protocol version before CONFIG', () => {
  const ch = channel();
  const session = new AgentSession(ch.stream, () => {});
  session.configure({
    hostname: 'h',
    rootTag: 'root',
    rootReadonly: false,
    mounts: [],
    debug: false,
    network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
  });
  assert.deepEqual(
    ch.sent.map((f) => f.type),
    [MsgType.HELLO, MsgType.CONFIG],
  );
  assert.equal(ch.sent[0]?.payload.readUInt32LE(0), PROTOCOL_VERSION);
});

test('DNS answers are dropped while the guest is not reading its channel', () => {
  const stuck = new Duplex({ read() {}, write(_c, _e, _cb) {} }); // never completes a write
  const session = new AgentSession(stuck, () => {});
  let accepted = 0;
  for (let i = 0; i < 2000; i++) if (session.dnsAnswer(i, Buffer.alloc(1024))) accepted++;
  assert.ok(accepted < 1100, `accepted ${accepted}`);
  assert.ok(stuck.writableLength < 1.1 * 1024 * 1024 + 2048);
});
