import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCpuList, vcpuPlacement } from './cpu-pinning.ts';

test('vCPUs go round-robin over the allowed host CPUs', () => {
  assert.deepEqual(vcpuPlacement(2, [0, 1]), [0, 1]);
  assert.deepEqual(vcpuPlacement(3, [2, 5]), [2, 5, 2]);
  assert.deepEqual(vcpuPlacement(1, [3, 4]), [3]);
  assert.deepEqual(vcpuPlacement(2, []), []);
});

test('cpuset lists as Docker and the kernel write them', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
  assert.deepEqual(parseCpuList('3,1,1-2'), [1, 2, 3]);
  assert.throws(() => parseCpuList('2-1'), /runs backwards/);
  assert.throws(() => parseCpuList('a'), /not a CPU list/);
});
