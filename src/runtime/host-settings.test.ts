import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_SETTINGS,
  defaultSettingsFile,
  HostSettingsError,
  parseHostSettings,
  readHostSettings,
} from './host-settings.ts';

const F = '/opt/runcvm/etc/config.json';

test('defaults, and every key validated with the allowed values in the message', () => {
  assert.deepEqual(parseHostSettings({}, F), DEFAULT_SETTINGS);
  assert.deepEqual(parseHostSettings(JSON.parse(defaultSettingsFile()), F), DEFAULT_SETTINGS);
  assert.deepEqual(
    parseHostSettings(
      { firecracker: '/usr/local/bin/firecracker', cacheMax: '1g', jailer: false, pods: 'per-container' },
      F,
    ),
    { firecracker: '/usr/local/bin/firecracker', cacheMaxBytes: 1024 ** 3, jailer: false, pods: 'per-container' },
  );
  assert.throws(
    () => parseHostSettings({ pods: 'kata' }, F),
    /"pods": must be one of "vm", "per-container" \(got "kata"\)/,
  );
  assert.throws(
    () => parseHostSettings({ firecracker: 'firecracker' }, F),
    /config.json: "firecracker": must be an absolute path \(got "firecracker"\)/,
  );
  assert.throws(() => parseHostSettings({ cacheMax: 'lots' }, F), /config.json: "cacheMax": invalid value "lots"/);
  assert.throws(() => parseHostSettings({ jailer: 'yes' }, F), /"jailer": must be true or false/);
  assert.throws(
    () => parseHostSettings({ firecrackr: '/x' }, F),
    (e: Error) =>
      e instanceof HostSettingsError &&
      /unknown key "firecrackr" \(known: firecracker, cacheMax, jailer, pods\)/.test(e.message),
  );
  assert.throws(() => parseHostSettings([], F), /must be a JSON object/);
});

test('the file: missing means defaults; a link, a group-writable file or bad JSON is refused', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'runcvm-settings-'));
  try {
    assert.deepEqual(readHostSettings(prefix), DEFAULT_SETTINGS);
    mkdirSync(join(prefix, 'etc'));
    const file = join(prefix, 'etc', 'config.json');
    writeFileSync(join(prefix, 'other.json'), '{"cacheMax": "1m"}');
    symlinkSync(join(prefix, 'other.json'), file);
    assert.throws(() => readHostSettings(prefix), /config.json: not a regular file/);
    rmSync(file);
    writeFileSync(file, '{"cacheMax": "1m"}', { mode: 0o664 });
    chmodSync(file, 0o664);
    assert.throws(() => readHostSettings(prefix), /not writable by group or others/);
    chmodSync(file, 0o644);
    assert.equal(readHostSettings(prefix).cacheMaxBytes, 1024 ** 2);
    writeFileSync(file, '{');
    assert.throws(() => readHostSettings(prefix), /config.json: not valid JSON/);
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
});
