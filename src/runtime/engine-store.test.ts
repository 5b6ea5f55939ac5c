import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSwarmTask, storeOf } from './engine-store.ts';

const CTR = 'c'.repeat(64);

function withStore(labels: unknown, check: (rootPath: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-engine-store-'));
  try {
    mkdirSync(join(root, 'containers', CTR), { recursive: true });
    writeFileSync(join(root, 'containers', CTR, 'config.v2.json'), JSON.stringify({ Config: { Labels: labels } }));
    check(join(root, 'overlay2', 'layer1', 'merged'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a Swarm task is told by its task label in config.v2.json', () => {
  withStore({ 'com.docker.swarm.task.id': 'x1', other: 'y' }, (root) => assert.equal(isSwarmTask(root, CTR), true));
  withStore({ 'com.docker.swarm.task': '' }, (root) => assert.equal(isSwarmTask(root, CTR), false));
  withStore(null, (root) => assert.equal(isSwarmTask(root, CTR), false));
});

test('no Swarm task where the layout, the id or the file does not fit', () => {
  withStore({ 'com.docker.swarm.task.id': 'x1' }, (root) => {
    assert.equal(isSwarmTask(root, 'd'.repeat(64)), false, 'another container');
    assert.equal(isSwarmTask(root, '../x'), false, 'not an id');
    assert.equal(isSwarmTask(join(root, '..', 'rootfs'), CTR), false, 'not an engine store');
  });
  assert.deepEqual(storeOf('/var/lib/docker/overlay2/abc/merged'), { store: '/var/lib/docker', driver: 'overlay2' });
  assert.equal(storeOf('/some/bundle/rootfs'), undefined);
});
