import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { E2E_ORDER, orderProblems } from '../e2e/order.ts';

test('test/e2e/order.ts lists every e2e file once, install last', () => {
  const files = readdirSync(join(import.meta.dirname, '..', 'e2e')).filter((f) => f.endsWith('.test.ts'));
  assert.deepEqual(orderProblems(files), []);
  assert.equal(E2E_ORDER.at(-1), 'install.test.ts');
});

test('a missing, stale or doubled entry is named', () => {
  assert.deepEqual(orderProblems(['a.test.ts', 'b.test.ts'], ['a.test.ts', 'a.test.ts', 'c.test.ts']), [
    'test/e2e/b.test.ts is not in test/e2e/order.ts: add it where it should run',
    'test/e2e/order.ts lists c.test.ts, which does not exist',
    'test/e2e/order.ts lists a.test.ts twice',
  ]);
});
