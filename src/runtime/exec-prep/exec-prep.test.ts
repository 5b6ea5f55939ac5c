/**
 * runcvm-exec-prep (static C) against the TypeScript it must agree with: the START payload of
 * encodeStart(workloadOf(p)), the exec client's process (PREFIX_IN_CONTAINER), and
 * lookupExecError's verdict and text. The program is built from this folder with the same
 * Makefile as the install, run in its --rewrite mode (the check and the rewrite, no runc), on
 * ordinary and hostile process files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeStart } from '../../agent-protocol/messages.ts';
import { PREFIX_IN_CONTAINER } from '../../contracts/launch-spec.ts';
import type { OciProcess } from '../../oci/spec.ts';
import { lookupExecError } from '../lookup-exec.ts';
import { workloadOf } from '../workload.ts';

let dir: string;
let bin: string;
let root: string;
const MOUNTS = ['/data', '/opt/tools/'];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'runcvm-exec-prep-'));
  const make = spawnSync('make', ['-s', '-C', import.meta.dirname, `OUT=${dir}`], { encoding: 'utf8' });
  assert.equal(make.status, 0, `building runcvm-exec-prep: ${make.stderr}`);
  bin = join(dir, 'runcvm-exec-prep');
  // An image: a busybox-like /bin, a non-executable file, a directory, symlinks inside the
  // image and one whose target climbs out of it (to a host path that exists: /usr/bin/env).
  root = join(dir, 'rootfs');
  for (const d of ['bin', 'usr/local/bin', 'etc', 'home/alice', 'dir.d']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'bin/busybox'), '', { mode: 0o755 });
  symlinkSync('/bin/busybox', join(root, 'bin/sh'));
  symlinkSync('../../../bin/busybox', join(root, 'usr/local/bin/rel'));
  symlinkSync('../../bin/busybox', join(root, 'usr/local/bin/dangling'));
  symlinkSync('/../../../../../../usr/bin/env', join(root, 'bin/escape'));
  symlinkSync('loop', join(root, 'bin/loop'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
  writeFileSync(join(root, 'home/alice/tool'), '', { mode: 0o700 });
  chmodSync(join(root, 'dir.d'), 0o755);
  writeFileSync(
    join(dir, 'spec.json'),
    JSON.stringify({ version: 1, rootfs: root, mounts: MOUNTS.map((destination) => ({ kind: 'bind', destination })) }),
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the program on `text` as the process file; returns its status, stderr and the file after. */
function rewrite(
  text: string | Buffer,
  spec = join(dir, 'spec.json'),
): { code: number | null; stderr: string; after: string } {
  const file = join(dir, 'process.json');
  writeFileSync(file, text);
  const r = spawnSync(bin, ['--rewrite', spec, file], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr.trim(), after: readFileSync(file, 'utf8') };
}

/** What the TypeScript side makes of p: the exec client's process, its START payload in the env. */
function expected(p: OciProcess): Record<string, unknown> {
  return {
    ...p,
    args: [`${PREFIX_IN_CONTAINER}/bin/runcvm-exec`],
    env: [
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/run',
      `RUNCVM_EXEC_START=${encodeStart(workloadOf(p)).toString('base64')}`,
    ],
    cwd: '/',
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
  };
}

const PROCESSES: OciProcess[] = [
  { args: ['sh'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } } as OciProcess,
  {
    terminal: true,
    consoleSize: { height: 40, width: 120 },
    user: { uid: 1001, gid: 50, additionalGids: [50, 4294967295] },
    args: ['sh', '-c', 'echo "quoted" \\ back\tslash\n', 'é ü 😀 \u2028', ''],
    env: ['PATH=/usr/local/bin:/bin', 'RUNCVM_MEMORY=1G', 'FROM_RUN=1', 'EMPTY=', 'RUNCVM_X=y'],
    cwd: '/home/alice',
    capabilities: { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    apparmorProfile: 'docker-default',
    oomScoreAdj: -500,
  } as unknown as OciProcess,
  { args: ['/usr/local/bin/rel'], cwd: '', user: { uid: 5, gid: 6 }, terminal: false } as OciProcess,
  {
    args: ['/data/anything'],
    env: null,
    user: { uid: 0, gid: 0, additionalGids: null },
    consoleSize: null,
  } as unknown as OciProcess,
];

test('the rewritten process and its START payload are what the TypeScript encoder makes', () => {
  for (const p of PROCESSES) {
    const r = rewrite(JSON.stringify(p));
    assert.equal(r.code, 0, r.stderr);
    const normalised = JSON.parse(JSON.stringify(p, (_k, v) => (v === null ? undefined : v))) as OciProcess;
    assert.deepEqual(JSON.parse(r.after), { ...expected(normalised), ...nulls(p) });
  }
});

/** Members the input had as null, which the program copies through as they are. */
function nulls(p: OciProcess): Record<string, null> {
  return Object.fromEntries(
    Object.entries(p)
      .filter(([k, v]) => v === null && !['env', 'args', 'user', 'cwd'].includes(k))
      .map(([k]) => [k, null]),
  );
}

test('escaped JSON (\\u escapes, surrogate pairs, a lone surrogate) decodes as JavaScript and Go decode it', () => {
  const text = '{"args":["sh","\\u00e9\\ud83d\\ude00\\/","\\ud800x"],"env":["A=\\"b\\""],"user":{"uid":0,"gid":0}}';
  const r = rewrite(text);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.after), expected(JSON.parse(text) as OciProcess));
});

test('command lookups give lookupExecError verdicts and texts', () => {
  const cases: [name: string, path: string | undefined, cwd: string][] = [
    ['sh', '/bin', '/'],
    ['sh', undefined, '/'],
    ['rel', '/usr/local/bin', '/'],
    ['dangling', '/usr/local/bin', '/'],
    ['/usr/local/bin/dangling', '/bin', '/'],
    ['nope', '/bin', '/'],
    ['/nope', '/bin', '/'],
    ['/etc/passwd', '/bin', '/'],
    ['/dir.d', '/bin', '/'],
    ['passwd', '/etc:/bin', '/'],
    ['escape', '/bin', '/'],
    ['/bin/escape', '/bin', '/'],
    ['../bin/sh', '/bin', '/home'],
    ['./tool', '/bin', '/home/alice'],
    ['tool', ':/bin', '/home/alice'],
    ['tool', '', '/home/alice'],
    ['/data/x/y', '/bin', '/'],
    ['run', '/opt/tools', '/'],
    ['x', '/bin//../../../data', '/'],
    ['/opt/toolsx/run', '/bin', '/'],
    ['/bin/busybox/x', '/bin', '/'],
  ];
  for (const [name, path, cwd] of cases) {
    const p = { args: [name], env: path === undefined ? [] : [`PATH=${path}`], cwd, user: { uid: 0, gid: 0 } };
    const r = rewrite(JSON.stringify(p));
    const want = lookupExecError(root, name, path, cwd, MOUNTS);
    const label = `${name} PATH=${path} cwd=${cwd}`;
    if (want === null) assert.equal(r.code, 0, `${label}: ${r.stderr}`);
    else assert.deepEqual([r.code, r.stderr], [1, `exec failed: unable to start container process: ${want}`], label);
  }
});

test('a symlink loop fails with the reason, not a verdict', () => {
  const r = rewrite(JSON.stringify({ args: ['/bin/loop'], cwd: '/', user: { uid: 0, gid: 0 } }));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /looking up \/bin\/loop in the container's root: .*symbolic link/i);
});

test('hostile process files are refused with the reason, the file left as it was and no temporary file behind', () => {
  const ok = (extra: string) => `{"args":["sh"],"user":{"uid":0,"gid":0}${extra}}`;
  const cases: [text: string | Buffer, why: RegExp][] = [
    ['not json', /not valid JSON|not one JSON object/],
    ['{"args":["sh"]', /truncated JSON/],
    ['["sh"]', /not one JSON object/],
    [`${ok('')} {}`, /not one JSON object/],
    ['{"args":[],"user":{"uid":0,"gid":0}}', /process\.args missing or empty/],
    ['{"args":"sh","user":{"uid":0,"gid":0}}', /process\.args is not an array/],
    ['{"args":[1],"user":{"uid":0,"gid":0}}', /process\.args\[0\]: not a string/],
    ['{"args":["a\\u0000b"],"user":{"uid":0,"gid":0}}', /process\.args\[0\]: a string holds a NUL character/],
    ['{"args":["a\tb"],"user":{"uid":0,"gid":0}}', /invalid escape or control character/],
    ['{"args":["a\\qb"],"user":{"uid":0,"gid":0}}', /not valid JSON/],
    ['{"args":["sh"]}', /process\.user is missing/],
    ['{"args":["sh"],"user":{"uid":-1,"gid":0}}', /uid and gid must be integers/],
    ['{"args":["sh"],"user":{"uid":4294967296,"gid":0}}', /uid and gid must be integers/],
    ['{"args":["sh"],"user":{"uid":1.5,"gid":0}}', /uid and gid must be integers/],
    ['{"args":["sh"],"user":{"uid":0,"gid":0,"additionalGids":["x"]}}', /additionalGids\[0\]/],
    [ok(',"terminal":"yes"'), /process\.terminal is not a boolean/],
    [ok(',"consoleSize":{"height":-1,"width":1}'), /consoleSize/],
    [ok(',"env":{"A":"b"}'), /process\.env is not an array/],
    [`${'['.repeat(40)}${']'.repeat(40)}`, /not one JSON object/],
    [ok(`,"x":${'['.repeat(40)}${']'.repeat(40)}`), /not one JSON object/],
    [ok(`,"pad":"${'x'.repeat(1024 * 1024)}"`), /larger than 1048576 bytes/],
    [ok(`,"many":[${Array(70000).fill('0').join(',')}]`), /too many JSON values \(\d+, at most 65536\)/],
    [
      ok(`,"env":${JSON.stringify(Array.from({ length: 200 }, (_, i) => `V${i}=${'v'.repeat(600)}`))}`),
      /more than 98289 bytes/,
    ],
  ];
  for (const [text, why] of cases) {
    const r = rewrite(text);
    assert.equal(r.code, 1, `accepted: ${String(text).slice(0, 80)}`);
    assert.match(r.stderr, why, String(text).slice(0, 80));
    assert.equal(r.after, String(text), 'the process file was changed');
  }
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('runcvm-tmp')),
    [],
  );
});

test('a spec.json of another format is refused, naming the file and the field', () => {
  const p = JSON.stringify({ args: ['sh'], user: { uid: 0, gid: 0 } });
  const bad: [spec: unknown, why: RegExp][] = [
    [{ version: 2, rootfs: root, mounts: [] }, /version is not 1/],
    [{ version: 1, rootfs: 'relative', mounts: [] }, /rootfs is not an absolute path/],
    [{ version: 1, rootfs: root }, /mounts is not an array/],
    [{ version: 1, rootfs: root, mounts: [{ kind: 'bind' }] }, /mounts\[0\]\.destination is not a string/],
  ];
  for (const [spec, why] of bad) {
    const file = join(dir, 'bad-spec.json');
    writeFileSync(file, JSON.stringify(spec));
    const r = rewrite(p, file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file.replaceAll('/', '\\/')}: ${why.source}`));
  }
});
