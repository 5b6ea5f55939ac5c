import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageEnvOf } from './image-env.ts';

const CTR = 'c'.repeat(64);
const IMG = 'a'.repeat(64);
const config = JSON.stringify({ config: { Env: ['PATH=/bin', 'RUNCVM_ROOTFS=image'] } });

function put(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

test('Docker: config.v2.json names the image, whose config in the imagedb has the ENV', () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-image-env-'));
  try {
    put(join(root, 'containers', CTR, 'config.v2.json'), JSON.stringify({ Image: `sha256:${IMG}` }));
    put(join(root, 'image', 'overlay2', 'imagedb', 'content', 'sha256', IMG), config);
    assert.deepEqual(imageEnvOf(join(root, 'overlay2', 'layer1', 'merged'), CTR), ['PATH=/bin', 'RUNCVM_ROOTFS=image']);
    assert.equal(
      imageEnvOf(join(root, 'overlay2', 'layer1', 'merged'), 'd'.repeat(64)),
      undefined,
      'another container',
    );
    assert.equal(imageEnvOf(join(root, 'overlay2', 'layer1', 'merged'), '../x'), undefined, 'not an id');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('Podman: containers.json names the image, whose config is its big-data file; a hostile ENV is no answer', () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-image-env-'));
  try {
    put(join(root, 'overlay-containers', 'containers.json'), JSON.stringify([{ id: CTR, image: IMG }]));
    const blob = join(root, 'overlay-images', IMG, `=${Buffer.from(`sha256:${IMG}`).toString('base64')}`);
    put(blob, config);
    assert.deepEqual(imageEnvOf(join(root, 'overlay', 'layer1', 'merged'), CTR), ['PATH=/bin', 'RUNCVM_ROOTFS=image']);
    put(blob, JSON.stringify({ config: { Env: [1, 2] } }));
    assert.equal(imageEnvOf(join(root, 'overlay', 'layer1', 'merged'), CTR), undefined);
    put(blob, JSON.stringify({ config: {} }));
    assert.deepEqual(imageEnvOf(join(root, 'overlay', 'layer1', 'merged'), CTR), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
