import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeDebugStart, StartTag, TOOL_MAX } from '../agent-protocol/messages.ts';
import { readTlv } from '../agent-protocol/testdata/tlv-reader.ts';
import type { RunningVm } from '../install/running-vms.ts';
import { findVm, guestArgv, parseDebugArgs } from './debug-command.ts';
import { errorOf, exitStatusOf } from './debug-session.ts';
import { staticElfProblem } from './static-elf.ts';

const vm = (containerId: string, name?: string, writeback = false) => ({ containerId, name, writeback }) as RunningVm;

test('debug arguments: options before the container, everything after it is the command', () => {
  assert.deepEqual(parseDebugArgs(['c1']), { container: 'c1', tool: '/bin/busybox', command: [], log: false });
  assert.deepEqual(parseDebugArgs(['--log', 'c1']).log, true);
  assert.throws(() => parseDebugArgs(['--log', 'c1', 'ps']), /takes a container only/);
  assert.deepEqual(parseDebugArgs(['--tool', '/x', 'c1', 'ps', '--tool']), {
    container: 'c1',
    tool: '/x',
    command: ['ps', '--tool'],
    log: false,
  });
  assert.throws(() => parseDebugArgs([]), /name a container/);
  assert.throws(() => parseDebugArgs(['--frob', 'c']), /unknown option "--frob" \(allowed: --tool FILE/);
});

test('the container is found by name, full id or unique id prefix; write-back VMs are not debuggable', () => {
  const a = 'a'.repeat(64);
  const b = `ab${'0'.repeat(62)}`;
  const vms = [vm(a, 'one'), vm(b, 'two'), vm('c'.repeat(64), 'three', true)];
  assert.equal(findVm(vms, 'two'), vms[1]);
  assert.equal(findVm(vms, a), vms[0]);
  assert.equal(findVm(vms, 'aa'), vms[0]);
  assert.throws(() => findVm(vms, 'a'), /is the start of 2 container ids/);
  assert.equal(findVm(vms, 'three'), undefined);
  assert.equal(findVm(vms, 'ccc'), undefined);
});

test("the guest runs busybox's shell, or the command through it", () => {
  assert.deepEqual(guestArgv([]), ['sh']);
  assert.deepEqual(guestArgv(['ps', '-o', 'pid']), ['sh', '-c', 'exec "$@"', 'runcvm-debug', 'ps', '-o', 'pid']);
});

test('the debug START is an ordinary START plus DEBUG and TOOL', () => {
  const p = { args: ['sh'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false };
  const recs = readTlv(encodeDebugStart(p, 2_000_000));
  assert.equal(recs.find((r) => r.tag === StartTag.DEBUG)?.value[0], 1);
  assert.equal(recs.find((r) => r.tag === StartTag.TOOL)?.value.readUInt32LE(0), 2_000_000);
  assert.throws(() => encodeDebugStart(p, TOOL_MAX + 1), /allowed 1 to/);
  assert.throws(() => encodeDebugStart(p, 0), /allowed 1 to/);
});

test('EXIT and ERROR payloads become the exit status docker exec would give', () => {
  const exit = (kind: number, value: number) => {
    const b = Buffer.alloc(8);
    b[0] = kind;
    b.writeInt32LE(value, 4);
    return b;
  };
  assert.equal(exitStatusOf(exit(0, 7)), 7);
  assert.equal(exitStatusOf(exit(1, 9)), 137);
  assert.throws(() => exitStatusOf(Buffer.alloc(3)), /short EXIT/);
  const err = (errno: number, msg: string) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(errno, 0);
    return Buffer.concat([b, Buffer.from(msg)]);
  };
  assert.deepEqual(errorOf(err(2, 'not found')), { status: 127, message: 'not found' });
  assert.deepEqual(errorOf(err(13, 'denied')), { status: 126, message: 'denied' });
  assert.equal(errorOf(err(3, 'gone')).status, 1);
});

function elf(opts: { interp?: boolean; machine?: number; type?: number } = {}): Buffer {
  const b = Buffer.alloc(64 + 56 * 2);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeUInt16LE(opts.type ?? 2, 16);
  b.writeUInt16LE(opts.machine ?? 62, 18);
  b.writeBigUInt64LE(64n, 32);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(2, 56);
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeUInt32LE(opts.interp ? 3 : 1, 64 + 56);
  return b;
}

test('only a static x86-64 executable can be sent as the debug program', () => {
  assert.equal(staticElfProblem(elf()), undefined);
  assert.match(staticElfProblem(elf({ interp: true })) as string, /dynamically linked/);
  assert.match(staticElfProblem(elf({ machine: 183 })) as string, /not an x86-64 program/);
  assert.match(staticElfProblem(elf({ type: 1 })) as string, /not an ELF executable/);
  assert.match(staticElfProblem(Buffer.from('#!/bin/sh\n')) as string, /not an ELF file/);
  assert.match(staticElfProblem(elf().subarray(0, 100)) as string, /truncated/);
});
