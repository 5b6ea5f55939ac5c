import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GuestLog, LOG_BURST, LOG_LINE_MAX, LOG_QUEUE_MAX, LOG_RATE, type LogSink } from './guest-log.ts';

function recorder(queued = () => 0): LogSink & { lines: string[] } {
  const lines: string[] = [];
  return { lines, write: (l) => lines.push(l), queued };
}

test('a flood is cut to the burst, then to the rate, and the drops are reported once', () => {
  let now = 0;
  const sink = recorder();
  const log = new GuestLog(sink, () => now);
  for (let i = 0; i < 10_000; i++) log.line('runcvm-agent', `line ${i}`);
  assert.equal(sink.lines.length, LOG_BURST);
  assert.equal(log.pendingDrops(), 10_000 - LOG_BURST);
  now += 1000;
  for (let i = 0; i < 1000; i++) log.line('runcvm-agent', 'more');
  // The first admitted line carries the summary of what came before it.
  assert.match(
    sink.lines[LOG_BURST] as string,
    new RegExp(`^runcvm: ${10_000 - LOG_BURST} guest log line\\(s\\) dropped`),
  );
  assert.equal(sink.lines.length, LOG_BURST + 1 + LOG_RATE);
});

test('nothing is written while the stream holds more than the queue bound', () => {
  let queued = LOG_QUEUE_MAX + 1;
  const sink = recorder(() => queued);
  const log = new GuestLog(sink, () => 0);
  assert.equal(log.line('runcvm-agent', 'x'), false);
  log.flushSummary();
  assert.equal(sink.lines.length, 0);
  queued = 0;
  log.flushSummary();
  assert.deepEqual(sink.lines, ['runcvm: 1 guest log line(s) dropped (more than 20/s or stderr not drained)\n']);
});

test('one frame is one bounded line: newlines and control characters cannot forge host lines', () => {
  const sink = recorder();
  const log = new GuestLog(sink, () => 0);
  log.line('runcvm-agent', 'a\nrunc: forged\r\x1b[2J');
  assert.deepEqual(sink.lines, ['runcvm-agent: a runc: forged  [2J\n']);
  log.line('runcvm-agent', 'y'.repeat(LOG_LINE_MAX * 4));
  assert.ok((sink.lines[1] as string).length <= LOG_LINE_MAX + 20);
});
