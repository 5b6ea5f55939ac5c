import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainId, imageFromInspect } from './image-chain.ts';

// runcvm-test/busybox on the development machine: its diff IDs and the chain ID Docker's layer
// store recorded for its containers (layerdb/mounts/<id>/parent).
const DIFFS = [
  'sha256:bb4353c2ff0ea9b5aeef00cff2c6884ec11d86f87a8df9aeacb4054961d16711',
  'sha256:d1219f6a8611463ada7f4948cc3bb2d3ed4a5ee558328d6f7480b4a0a9723b29',
  'sha256:6bb23335854a952ee1ada11ce0af83c67865b40665260c5f767c8843a5320c22',
  'sha256:931396c6494945bfb2c2b6768c32e04b259e3003bf02c12a6b22b02ed8cb0c12',
];

test('the chain ID is Docker\'s: the first diff ID alone, then sha256 of "<chain> <diff>"', () => {
  assert.equal(chainId(DIFFS.slice(0, 1)), DIFFS[0]);
  assert.equal(chainId(DIFFS), 'sha256:bf2b3f4c833f78dd27fb6580c63daf4464457174601c28a0a0a9113a6dc0b7c9');
  assert.throws(() => chainId([]), /no layers/);
  assert.throws(() => chainId(['sha256:xyz']), /invalid layer diff ID/);
});

test('docker image inspect: overlay2 layers top first; another driver is refused by name', () => {
  const img = imageFromInspect({
    Id: 'sha256:abc',
    RootFS: { Layers: DIFFS },
    GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/d/top/diff', LowerDir: '/d/b/diff:/d/a/diff' } },
  });
  assert.deepEqual(img.layers, ['/d/top/diff', '/d/b/diff', '/d/a/diff']);
  assert.equal(
    imageFromInspect({
      Id: 'x',
      RootFS: { Layers: DIFFS.slice(0, 1) },
      GraphDriver: { Name: 'overlay2', Data: { UpperDir: '/d/only/diff' } },
    }).layers.length,
    1,
  );
  assert.throws(
    () => imageFromInspect({ Id: 'x', RootFS: { Layers: DIFFS }, GraphDriver: { Name: 'vfs', Data: {} } }),
    /"vfs" driver; the image cache needs overlay2/,
  );
});
