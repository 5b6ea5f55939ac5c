/**
 * `npm run test:e2e`: runs the end-to-end files in the order test/e2e/order.ts gives, one file at
 * a time (node --test --test-concurrency=1). Extra arguments go to node --test.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { E2E_ORDER, orderProblems } from './e2e/order.ts';

const DIR = join(import.meta.dirname, 'e2e');
const problems = orderProblems(readdirSync(DIR).filter((f) => f.endsWith('.test.ts')));
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(2);
}
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    ...process.argv.slice(2),
    ...E2E_ORDER.map((f) => join(DIR, f)),
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
