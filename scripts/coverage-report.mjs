// Line and branch coverage of src/ from the raw V8 coverage every Node process of a test run
// wrote (NODE_V8_COVERAGE): the unit tests, and the runtime, launcher and CLI processes an
// install made with `runcvm install --coverage-dir` started for the e2e tests (docs/testing.md).
// c8 maps the installed bundle back to src/ through its source map and merges by line.
// usage: node scripts/coverage-report.mjs RAW_DIR OUT_DIR
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const [raw, out] = process.argv.slice(2);
if (!raw || !out) {
  console.error('usage: node scripts/coverage-report.mjs RAW_DIR OUT_DIR');
  process.exit(2);
}
const c8 = join('node_modules', '.bin', 'c8');
execFileSync(
  c8,
  [
    'report',
    `--temp-directory=${raw}`,
    `--reports-dir=${out}`,
    // The installed bundle lives outside the tree (/opt/runcvm/lib); its sources map into src/.
    '--allow-external',
    '--all',
    '--src=src',
    '--exclude=**/*.test.ts',
    '--exclude=**/testdata/**',
    '--exclude=test/**',
    '--exclude=scripts/**',
    '--exclude=bench/**',
    '--reporter=json-summary',
    '--reporter=text',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);

const summary = JSON.parse(readFileSync(join(out, 'coverage-summary.json'), 'utf8'));
const folders = new Map();
const add = (acc, f) => {
  acc.lines += f.lines.total;
  acc.linesHit += f.lines.covered;
  acc.branches += f.branches.total;
  acc.branchesHit += f.branches.covered;
  acc.files += 1;
};
for (const [path, f] of Object.entries(summary)) {
  if (path === 'total') continue;
  const rel = relative(process.cwd(), path);
  if (!rel.startsWith(`src${sep}`)) continue;
  const folder = rel.split(sep).slice(0, 2).join('/');
  const acc = folders.get(folder) ?? { lines: 0, linesHit: 0, branches: 0, branchesHit: 0, files: 0 };
  add(acc, f);
  folders.set(folder, acc);
}
const pct = (hit, total) => (total === 0 ? '100.0' : ((100 * hit) / total).toFixed(1));
const row = (name, a) =>
  `${name.padEnd(22)} ${String(a.files).padStart(5)} ${pct(a.linesHit, a.lines).padStart(7)} ${pct(a.branchesHit, a.branches).padStart(8)}`;
console.log('coverage of src/ (unit tests + the processes of the e2e tests; full table in', `${out}/)`);
console.log(`${'folder'.padEnd(22)} ${'files'.padStart(5)} ${'lines %'.padStart(7)} ${'branch %'.padStart(8)}`);
const total = { lines: 0, linesHit: 0, branches: 0, branchesHit: 0, files: 0 };
for (const [name, a] of [...folders].sort()) {
  console.log(row(name, a));
  for (const k of Object.keys(total)) total[k] += a[k];
}
console.log(row('all of src/', total));
