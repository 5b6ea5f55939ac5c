import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSize } from './size.ts';

test('bytes and binary suffixes, in every spelling', () => {
  assert.equal(parseSize('1048576'), 2 ** 20);
  for (const s of ['512m', '512M', '512MB', '512MiB', '512 m', ' 512m ']) assert.equal(parseSize(s), 512 * 2 ** 20, s);
  assert.equal(parseSize('2g'), 2 * 2 ** 30);
  assert.equal(parseSize('1t'), 2 ** 40);
  assert.equal(parseSize('1p'), 2 ** 50);
  assert.equal(parseSize('100k'), 102400);
});

test('fractions round down, unless refused', () => {
  assert.equal(parseSize('1.5k'), 1536);
  assert.equal(parseSize('0.3'), 0);
  assert.equal(parseSize('1.5G', { fraction: false }), undefined);
  assert.equal(parseSize('2G', { fraction: false }), 2 * 2 ** 30);
});

test('anything else is not a size', () => {
  for (const s of ['', 'lots', '-1', '1x', '1e3', '1  m', 'm', '1.g']) assert.equal(parseSize(s), undefined, s);
});
