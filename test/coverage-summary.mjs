// node:test reporter (npm run test:unit): line and branch coverage of the product code in src/
// (test files and testdata excluded), per folder and in total, from the runner's own coverage
// (--experimental-test-coverage). The per-file table with uncovered lines is the tap reporter's.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const ROOT = process.cwd();

function isProduct(path) {
  const rel = relative(ROOT, path);
  return rel.startsWith(`src${sep}`) && !rel.endsWith('.test.ts') && !rel.split(sep).includes('testdata');
}

/** Every product file of src/: one that no unit test loads is missing from the runner's report. */
function productFiles() {
  return readdirSync(join(ROOT, 'src'), { recursive: true })
    .map((f) => join(ROOT, 'src', f))
    .filter((f) => f.endsWith('.ts') && isProduct(f));
}

function pct(covered, total) {
  return total === 0 ? '100.0' : ((100 * covered) / total).toFixed(1);
}

export default async function* coverageSummary(source) {
  for await (const event of source) {
    if (event.type !== 'test:coverage') continue;
    const folders = new Map();
    const total = { lines: 0, linesHit: 0, branches: 0, branchesHit: 0, files: 0 };
    for (const f of event.data.summary.files) {
      if (!isProduct(f.path)) continue;
      const folder = relative(ROOT, f.path).split(sep).slice(0, 2).join('/');
      const acc = folders.get(folder) ?? { lines: 0, linesHit: 0, branches: 0, branchesHit: 0, files: 0 };
      for (const a of [acc, total]) {
        a.lines += f.totalLineCount;
        a.linesHit += f.coveredLineCount;
        a.branches += f.totalBranchCount;
        a.branchesHit += f.coveredBranchCount;
        a.files += 1;
      }
      folders.set(folder, acc);
    }
    // Files no unit test imports: all their lines count as uncovered (their branches are unknown).
    const seen = new Set(event.data.summary.files.map((f) => f.path));
    // A file of types only is erased at load: it has no code to cover.
    const hasCode = (f) => /^export (const|let|function|async function|class|default)\b/m.test(readFileSync(f, 'utf8'));
    const unloaded = productFiles().filter((f) => !seen.has(f) && hasCode(f));
    for (const f of unloaded) {
      const folder = relative(ROOT, f).split(sep).slice(0, 2).join('/');
      const acc = folders.get(folder) ?? { lines: 0, linesHit: 0, branches: 0, branchesHit: 0, files: 0 };
      const lines = readFileSync(f, 'utf8').split('\n').length;
      for (const a of [acc, total]) {
        a.lines += lines;
        a.files += 1;
      }
      folders.set(folder, acc);
    }
    const row = (name, a) =>
      `# ${name.padEnd(22)} ${String(a.files).padStart(5)} ${pct(a.linesHit, a.lines).padStart(7)} ${pct(a.branchesHit, a.branches).padStart(8)}\n`;
    yield '# coverage of src/ (product code, unit tests only)\n';
    yield `# ${'folder'.padEnd(22)} files  line %  branch %\n`;
    for (const [name, a] of [...folders].sort()) yield row(name, a);
    yield row('all of src/', total);
    if (unloaded.length)
      yield `# not loaded by any unit test (0 %): ${unloaded.map((f) => relative(ROOT, f)).join(' ')}\n`;
  }
}
