import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentVersionOf, cpioFile } from './agent-version.ts';

/** One newc entry, as guest/build.sh's cpio writes it. */
function entry(name: string, data: Buffer, ino: number): Buffer {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const fields = [ino, 0o100755, 0, 0, 2, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
  const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  return Buffer.concat([pad(Buffer.concat([header, Buffer.from(`${name}\0`)])), pad(data)]);
}

const agent = Buffer.from('\x7fELF...runcvm-agent %s starting\0...runcvm-agent 1.2.3-rc1\0tail', 'latin1');

test('the agent version comes from the initramfs /init, also when its data sits with a later hard link', () => {
  const archive = Buffer.concat([
    entry('modules.list', Buffer.from('virtio_blk\n'), 1),
    entry('init', Buffer.alloc(0), 7),
    entry('sbin/modprobe', agent, 7),
    entry('TRAILER!!!', Buffer.alloc(0), 0),
  ]);
  const init = cpioFile(archive, 'init');
  assert.ok(init);
  assert.equal(agentVersionOf(init), '1.2.3-rc1');
  assert.equal(cpioFile(archive, 'missing'), undefined);
});

test('a file that is not newc cpio is an error, and a binary without the string has no version', () => {
  assert.throws(() => cpioFile(Buffer.alloc(200, 0x41), 'init'), /not a cpio newc archive/);
  assert.equal(agentVersionOf(Buffer.from('runcvm-agent %s starting\0')), undefined);
});
