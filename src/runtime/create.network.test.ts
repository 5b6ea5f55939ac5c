import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OciSpec } from '../oci/spec.ts';
import { networkMode } from './create.ts';

const spec = (ns?: { type: string; path?: string }): OciSpec => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } },
  root: { path: '/r' },
  linux: { namespaces: ns ? [ns] : [] },
});

test("own netns, named netns (Podman, CNI pods) are handed over; host and other containers' are not", () => {
  const host = (p: string) => p === '/var/run/docker/netns/default';
  assert.equal(networkMode(spec({ type: 'network' }), host), 'own');
  assert.equal(networkMode(spec({ type: 'network', path: '/run/netns/netns-1234' }), host), 'own');
  assert.equal(networkMode(spec({ type: 'network', path: '/var/run/netns/cni-5678' }), host), 'own');
  assert.equal(networkMode(spec({ type: 'network', path: '/var/run/docker/netns/default' }), host), 'shared');
  assert.equal(networkMode(spec({ type: 'network', path: '/proc/4242/ns/net' }), host), 'shared');
  assert.equal(networkMode(spec(), host), 'shared');
});
