import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  BURST,
  containerLogDir,
  formatRecord,
  HostLog,
  LINE_MAX,
  LOG_FILE,
  MAX_BYTES,
  makeContainerLogDir,
  RATE,
} from './host-log.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-host-log-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = () => makeContainerLogDir(`c${n++}`, tmp);

test('one record per line: ISO time, source, text with control characters replaced and long lines cut', () => {
  assert.equal(formatRecord(0, 'qemu', 'a\tb\u001b[2Jc'), '1970-01-01T00:00:00.000Z qemu: a b [2Jc\n');
  const long = formatRecord(0, 'agent', 'x'.repeat(LINE_MAX + 50));
  assert.equal(long, `1970-01-01T00:00:00.000Z agent: ${'x'.repeat(LINE_MAX)}…\n`);
});

test("a child's output is split into lines; a partial line waits for its end, and is flushed at close", () => {
  const dir = freshDir();
  const log = new HostLog(dir, () => 0);
  log.output('virtiofsd', 'one\ntw');
  log.output('qemu', 'other\n');
  log.output('virtiofsd', 'o\nthree');
  log.close();
  const lines = readFileSync(join(dir, LOG_FILE), 'utf8').trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => l.slice(25)),
    ['virtiofsd: one', 'qemu: other', 'virtiofsd: two', 'virtiofsd: three'],
  );
});

test('over the rate, lines are dropped and counted in the next written one', () => {
  const dir = freshDir();
  let t = 1000;
  const log = new HostLog(dir, () => t);
  for (let i = 0; i < BURST + 30; i++) log.line('agent', `line ${i}`);
  t += 1000; // a second later: RATE more tokens
  log.line('agent', 'after');
  log.close();
  const text = readFileSync(join(dir, LOG_FILE), 'utf8');
  assert.equal(text.split('\n').filter((l) => / agent: line /.test(l)).length, BURST);
  assert.match(text, / launcher: 30 log line\(s\) dropped \(more than 50\/s\)\n.* agent: after\n$/);
  assert.equal(RATE, 50);
});

test('rotation at MAX_BYTES keeps two old files, and the total stays bounded', () => {
  const dir = freshDir();
  let t = 0;
  const log = new HostLog(dir, () => (t += 1000)); // one token per call at most: never rate-limited
  const line = 'y'.repeat(1000);
  for (let i = 0; i < Math.ceil((4 * MAX_BYTES) / 1000); i++) log.line('qemu', line);
  log.close();
  const sizes = [LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`].map((f) => readFileSync(join(dir, f)).length);
  for (const s of sizes) assert.ok(s <= MAX_BYTES, `${s}`);
  assert.ok(sizes[1]! > MAX_BYTES - 2000 && sizes[2]! > MAX_BYTES - 2000);
  assert.equal(existsSync(join(dir, `${LOG_FILE}.3`)), false);
});

test('a link planted as the log file is never followed: the writer stops and says so once', () => {
  const dir = freshDir();
  const target = join(tmp, 'victim');
  writeFileSync(target, 'untouched');
  symlinkSync(target, join(dir, LOG_FILE));
  const errors: string[] = [];
  const log = new HostLog(
    dir,
    () => 0,
    (m) => errors.push(m),
  );
  log.line('agent', 'a');
  log.line('agent', 'b');
  log.close();
  assert.equal(readFileSync(target, 'utf8'), 'untouched');
  assert.equal(errors.length, 1);
  assert.match(errors[0] as string, /no more lines written/);
});

test('container ids that cannot name a directory are refused', () => {
  assert.equal(containerLogDir('a'.repeat(64), '/r'), `/r/${'a'.repeat(64)}`);
  for (const bad of ['', '..', 'a/b', '../x', '.hidden', 'a..b'])
    assert.throws(() => containerLogDir(bad, '/r'), /cannot name a log directory/);
  symlinkSync(tmp, join(tmp, 'linked'));
  assert.throws(() => makeContainerLogDir('linked', tmp), /is not a directory/);
});
