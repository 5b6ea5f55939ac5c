import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { HOST_LOG_IN_CONTAINER, LOG_FILE } from '../common/host-log.ts';
import type { OciSpec } from '../oci/spec.ts';
import { openContainerLog, PRUNE_AGE_MS, PRUNE_EVERY_MS, pruneContainerLogs } from './container-log.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-container-log-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("create binds the container's log directory into the launcher's /run and writes there", () => {
  const config = { mounts: [{ destination: '/run', type: 'tmpfs' }] } as unknown as OciSpec;
  const log = openContainerLog('abc', config, () => assert.fail('no warning expected'), join(tmp, 'logs'));
  assert.ok(log);
  log.line('runtime', 'create: qemu');
  log.close();
  assert.deepEqual(config.mounts?.at(-1), {
    destination: HOST_LOG_IN_CONTAINER,
    type: 'bind',
    source: join(tmp, 'logs', 'abc'),
    options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec'],
  });
  assert.ok(existsSync(join(tmp, 'logs', 'abc', LOG_FILE)));
  const warnings: string[] = [];
  const none = openContainerLog('../x', config, (m) => warnings.push(m), join(tmp, 'logs'));
  assert.equal(none, undefined);
  assert.match(warnings[0] as string, /no host log for this container/);
});

test('old logs of containers that are gone are pruned, at most once per interval; running ones are kept', () => {
  const root = join(tmp, 'prune');
  const now = Date.now();
  const old = (now - PRUNE_AGE_MS - 1000) / 1000;
  for (const id of ['gone', 'running', 'recent']) {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, LOG_FILE), 'x\n');
    if (id !== 'recent') {
      utimesSync(join(root, id, LOG_FILE), old, old);
      utimesSync(join(root, id), old, old);
    }
  }
  assert.deepEqual(
    pruneContainerLogs(now, () => new Set(['running']), root),
    ['gone'],
  );
  assert.deepEqual([existsSync(join(root, 'running')), existsSync(join(root, 'recent'))], [true, true]);
  // Within the interval nothing is looked at, not even the running VMs.
  assert.deepEqual(
    pruneContainerLogs(now + 1000, () => assert.fail('not due'), root),
    [],
  );
  assert.deepEqual(
    pruneContainerLogs(now + PRUNE_EVERY_MS + 1, () => new Set(), root),
    ['running'],
  );
});
