import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podmanConfig, podmanRuntimesFor } from './podman.ts';

test('the printed Podman snippet is what doctor recognises; commented or other entries are not', () => {
  const bin = '/opt/runcvm/bin/runcvm-runtime';
  const snippet = podmanConfig('runcvm', bin);
  assert.equal(snippet, '[engine.runtimes]\nruncvm = ["/opt/runcvm/bin/runcvm-runtime"]\n');
  assert.deepEqual(podmanRuntimesFor(`[containers]\nx = 1\n\n${snippet}`, bin), ['runcvm']);
  assert.deepEqual(podmanRuntimesFor(`[engine.runtimes]\n#runcvm = ["${bin}"]\nrunc = ["/usr/bin/runc"]\n`, bin), []);
  assert.deepEqual(podmanRuntimesFor(`[engine]\nruncvm = ["${bin}"]\n`, bin), []);
});
