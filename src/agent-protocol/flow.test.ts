import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWindow, encodeWindow, GRANT_BATCH, OutputWindow, STREAM_WINDOW } from './flow.ts';

test('WINDOW payload layout: u32 stdout, u32 stderr, little-endian', () => {
  assert.deepEqual([...encodeWindow(0x10000, 2)], [0, 0, 1, 0, 2, 0, 0, 0]);
  assert.deepEqual(decodeWindow(encodeWindow(7, 9)), { stdout: 7, stderr: 9 });
  assert.throws(() => decodeWindow(Buffer.alloc(4)), /shorter than 8/);
});

test('the guest may send exactly one window before any grant', () => {
  const w = new OutputWindow();
  assert.equal(w.receive(STREAM_WINDOW), true);
  assert.equal(w.receive(1), false);
});

test('grants are batched and give back exactly what was consumed', () => {
  const w = new OutputWindow();
  w.receive(STREAM_WINDOW);
  let granted = 0;
  for (let i = 0; i < STREAM_WINDOW / 1024; i++) granted += w.consume(1024);
  assert.equal(granted, STREAM_WINDOW);
  assert.equal(w.held(), 0);
  // Consumption smaller than a batch is held back until the batch fills.
  w.receive(100);
  assert.equal(w.consume(100), 0);
});

test('a guest that sends more than it was granted is caught even after grants', () => {
  const w = new OutputWindow();
  w.receive(STREAM_WINDOW);
  assert.equal(w.consume(GRANT_BATCH), GRANT_BATCH);
  assert.equal(w.receive(GRANT_BATCH), true);
  assert.equal(w.receive(1), false);
});

test('consumed-but-ungranted bytes still count against the guest', () => {
  const w = new OutputWindow();
  w.receive(STREAM_WINDOW);
  assert.equal(w.consume(GRANT_BATCH - 1), 0);
  assert.equal(w.receive(1), false);
});
