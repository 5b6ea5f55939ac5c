/**
 * `runcvm install` / `uninstall` against the real dockerd: other daemon.json keys survive,
 * a second install is a no-op, uninstall reverses everything. Runs last (test/e2e/order.ts: it briefly
 * unregisters the runtime) and leaves runcvm installed as it found it.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { docker, PREFIX, RUNTIME, run } from './docker.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(REPO, 'dist', 'runcvm.mjs');
const DAEMON_JSON = '/etc/docker/daemon.json';
const original = existsSync(DAEMON_JSON) ? readFileSync(DAEMON_JSON, 'utf8') : undefined;
// The install under test (RUNCVM_PREFIX, RUNCVM_RUNTIME), not /opt/runcvm: a side install's run of
// the suite must not replace or remove the default one. Reinstalled as found: TCG allowed or not,
// and a coverage run's --coverage-dir kept (docs/testing.md).
const hostJson = JSON.parse(readFileSync(`${PREFIX}/etc/host.json`, 'utf8'));
const target = ['--prefix', PREFIX, '--name', RUNTIME];
const installArgs = [
  ...target,
  ...(hostJson.allowTcg ? ['--allow-tcg'] : []),
  ...(hostJson.coverageDir ? ['--coverage-dir', hostJson.coverageDir] : []),
];

async function runtimes(): Promise<string[]> {
  const r = await docker(['info', '--format', '{{json .Runtimes}}']);
  return Object.keys(JSON.parse(r.stdout) as object);
}

test("a side install's own uninstall removes that install only, never the one under test", async () => {
  const side = mkdtempSync(join(tmpdir(), 'runcvm-e2e-side-'));
  const sideName = 'runcvm-e2e-side';
  try {
    const r = await run('node', [CLI, 'install', '--prefix', side, '--name', sideName, '--allow-tcg']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await runtimes()).includes(sideName));
    const un = await run(join(side, 'bin', 'runcvm'), ['uninstall']);
    assert.equal(un.code, 0, un.stderr);
    assert.equal(existsSync(side), false);
    const names = await runtimes();
    assert.ok(!names.includes(sideName) && names.includes(RUNTIME), names.join(' '));
    assert.ok(existsSync(join(PREFIX, 'bin', 'runcvm-runtime')), `${PREFIX} still installed`);
  } finally {
    if (existsSync(side)) await run('node', [CLI, 'uninstall', '--prefix', side, '--name', sideName]);
  }
});

after(async () => {
  if (original !== undefined) writeFileSync(DAEMON_JSON, original);
  const r = await run('node', [CLI, 'install', ...installArgs]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await runtimes()).includes(RUNTIME));
});

test('install keeps other daemon.json keys, a second install changes nothing, uninstall reverses it', async () => {
  const cfg = JSON.parse(original ?? '{}') as Record<string, unknown> & { runtimes?: Record<string, unknown> };
  const withOther = {
    ...cfg,
    'log-level': 'info',
    runtimes: { ...(cfg.runtimes ?? {}), 'runcvm-e2e-other': { path: '/usr/sbin/runc' } },
  };
  writeFileSync(DAEMON_JSON, JSON.stringify(withOther, null, 2));

  const first = await run('node', [CLI, 'install', ...installArgs]);
  assert.equal(first.code, 0, first.stderr);
  const after1 = JSON.parse(readFileSync(DAEMON_JSON, 'utf8'));
  assert.equal(after1['log-level'], 'info');
  assert.deepEqual(after1.runtimes['runcvm-e2e-other'], { path: '/usr/sbin/runc' });
  assert.deepEqual(after1.runtimes[RUNTIME], { path: `${PREFIX}/bin/runcvm-runtime` });
  assert.ok((await runtimes()).includes(RUNTIME));

  const second = await run('node', [CLI, 'install', ...installArgs]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /nothing changed/);

  // The install's own command, without flags: it removes the install it runs from, under the
  // name that install recorded; a contradicting --name is refused before anything changes.
  const own = join(PREFIX, 'bin', 'runcvm');
  const wrong = await run(own, ['uninstall', '--name', 'runcvm-e2e-wrong']);
  assert.notEqual(wrong.code, 0);
  assert.match(
    wrong.stderr,
    new RegExp(`uninstall --name runcvm-e2e-wrong: ${PREFIX} is installed as runtime "${RUNTIME}"`),
  );
  assert.ok(existsSync(PREFIX) && (await runtimes()).includes(RUNTIME));
  const un = await run(own, ['uninstall']);
  assert.equal(un.code, 0, un.stderr);
  const after2 = JSON.parse(readFileSync(DAEMON_JSON, 'utf8'));
  assert.equal(after2.runtimes[RUNTIME], undefined);
  assert.deepEqual(after2.runtimes['runcvm-e2e-other'], { path: '/usr/sbin/runc' });
  assert.equal(existsSync(PREFIX), false);
  const names = await runtimes();
  assert.ok(!names.includes(RUNTIME) && names.includes('runcvm-e2e-other'), names.join(' '));
});
