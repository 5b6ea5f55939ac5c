import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDaemonJson, withoutRuntime, withRuntime } from './daemon-json.ts';

test('install keeps every other key and runtime; uninstall restores the original', () => {
  const original = parseDaemonJson('{"log-driver":"local","runtimes":{"other":{"path":"/x"}},"debug":true}', 'd.json');
  const installed = withRuntime(original, 'runcvm', '/opt/runcvm/bin/runcvm-runtime');
  assert.deepEqual(installed, {
    'log-driver': 'local',
    debug: true,
    runtimes: { other: { path: '/x' }, runcvm: { path: '/opt/runcvm/bin/runcvm-runtime' } },
  });
  assert.deepEqual(withoutRuntime(installed, 'runcvm'), original);
});

test('a runtimes key runcvm created alone disappears on uninstall', () => {
  assert.deepEqual(withoutRuntime(withRuntime({}, 'runcvm', '/p'), 'runcvm'), {});
  assert.deepEqual(parseDaemonJson(undefined, 'd.json'), {});
});

test('an unparsable daemon.json is refused rather than overwritten', () => {
  assert.throws(() => parseDaemonJson('{oops', '/etc/docker/daemon.json'), /\/etc\/docker\/daemon.json: cannot parse/);
  assert.throws(() => parseDaemonJson('[]', 'd.json'), /not a JSON object/);
});
