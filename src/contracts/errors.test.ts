import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  describeError,
  ERROR_KINDS,
  EXIT_STATUS,
  errorKind,
  exitStatusFor,
  GuestFailure,
  HostNotReadyError,
  OptionError,
  RuncvmError,
} from './errors.ts';

test('each error class has its kind; anything else is internal', () => {
  assert.equal(errorKind(new OptionError('x')), 'invalid-option');
  assert.equal(errorKind(new HostNotReadyError('x')), 'host-not-ready');
  assert.equal(errorKind(new GuestFailure('x')), 'guest-failure');
  assert.equal(errorKind(new Error('x')), 'internal');
  assert.equal(errorKind('a string'), 'internal');
});

test('describeError joins the message and every cause once, in order', () => {
  const root = new Error('ENOENT: no such file');
  const mid = new RuncvmError('internal', 'reading /x', { cause: root, context: { file: '/x' } });
  const top = new OptionError('RUNCVM_ROOTFS=image', { cause: mid });
  assert.equal(describeError(top), 'RUNCVM_ROOTFS=image: reading /x: ENOENT: no such file');
  assert.equal(top.message, 'RUNCVM_ROOTFS=image', 'the message does not repeat its cause');
  assert.deepEqual(mid.context, { file: '/x' });
  assert.equal(describeError('plain'), 'plain');
});

test('describeError stops on a cause cycle', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  assert.equal(describeError(b), 'b: a');
});

test("exit status: the error's own, else its kind's (1 for every kind, as runc)", () => {
  assert.equal(exitStatusFor(new GuestFailure('no such command', { exitStatus: 127 })), 127);
  assert.equal(exitStatusFor(new OptionError('x')), 1);
  assert.equal(exitStatusFor(new Error('x')), 1);
  for (const kind of ERROR_KINDS) assert.equal(EXIT_STATUS[kind], 1);
});
