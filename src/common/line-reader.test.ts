import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineReader, LineTooLongError } from './line-reader.ts';

test('lines split across chunks come out whole, a UTF-8 character split between chunks included', () => {
  const r = new LineReader(64);
  const bytes = Buffer.from('{"a":"é"}\n{"b":1}\n{"c"');
  assert.deepEqual(r.push(bytes.subarray(0, 7)), []); // ends inside the two bytes of é
  assert.deepEqual(r.push(bytes.subarray(7)), ['{"a":"é"}', '{"b":1}']);
  assert.deepEqual(r.push(Buffer.from(':2}\n')), ['{"c":2}']);
});

test('the ceiling applies to each line, not to the stream', () => {
  const r = new LineReader(4);
  assert.deepEqual(r.push(Buffer.from('abcd\nefgh\nij')), ['abcd', 'efgh']);
  assert.deepEqual(r.push(Buffer.from('kl\n')), ['ijkl']);
});

test('a line that outgrows the ceiling is an error, even when it arrives a byte at a time', () => {
  const r = new LineReader(4);
  for (const c of 'abcd') r.push(Buffer.from(c));
  assert.throws(
    () => r.push(Buffer.from('e')),
    (e: unknown) => e instanceof LineTooLongError && e.message === 'a line longer than 4 bytes',
  );
  assert.throws(() => new LineReader(4).push(Buffer.alloc(1 << 20, 0x78)), LineTooLongError);
});
