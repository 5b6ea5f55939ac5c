import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layersOf, overlayOptions, readOverlayLayers } from './overlay-layers.ts';
import { commonPrefix } from './paths.ts';

const MERGED = '/var/lib/docker/overlay2/abc/merged';
// A line as dockerd's overlay2 mounts it (relative lowerdirs via its l/ short links).
const LINE = `512 30 0:77 / ${MERGED} rw,relatime shared:300 - overlay overlay rw,lowerdir=l/INIT:l/TOP:l/BOTTOM,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/var/lib/docker/overlay2/abc/work,index=off`;
const LINKS: Record<string, string> = {
  '/var/lib/docker/overlay2/l/INIT': '/var/lib/docker/overlay2/abc-init/diff',
  '/var/lib/docker/overlay2/l/TOP': '/var/lib/docker/overlay2/t0p/diff',
  '/var/lib/docker/overlay2/l/BOTTOM': '/var/lib/docker/overlay2/b0t/diff',
};
const real = (p: string) => LINKS[p] ?? p;

test('Docker overlay: init layer split off, image layers top first, relative lowerdirs resolved', () => {
  const opts = overlayOptions(`1 0 8:1 / / rw - ext4 /dev/vda rw\n${LINE}\n`, MERGED);
  assert.ok(opts);
  assert.deepEqual(layersOf(opts, '/var/lib/docker/overlay2', real), {
    init: '/var/lib/docker/overlay2/abc-init/diff',
    image: ['/var/lib/docker/overlay2/t0p/diff', '/var/lib/docker/overlay2/b0t/diff'],
    upper: '/var/lib/docker/overlay2/abc/diff',
  });
});

test('containerd snapshots: absolute lowerdirs, no init layer', () => {
  const line =
    '600 30 0:90 / /run/c/rootfs rw - overlay overlay rw,lowerdir=/s/2/fs:/s/1/fs,upperdir=/s/3/fs,workdir=/s/3/work';
  const l = layersOf(overlayOptions(line, '/run/c/rootfs') as Map<string, string>, '/run', (p) => p);
  assert.deepEqual(l, { init: undefined, image: ['/s/2/fs', '/s/1/fs'], upper: '/s/3/fs' });
});

test('a rootfs that is not an overlay is refused with the reason', () => {
  assert.throws(
    () => readOverlayLayers('/srv/rootfs', '1 0 8:1 / /srv/rootfs rw - ext4 /dev/vda rw\n'),
    /not an overlay mount/,
  );
});

test('mountinfo escapes in the mount point are decoded', () => {
  const line = '7 1 0:5 / /a\\040b rw - overlay overlay rw,lowerdir=/x:/y,upperdir=/u,workdir=/w';
  assert.equal(overlayOptions(line, '/a b')?.get('upperdir'), '/u');
});

test('commonPrefix: the deepest shared directory', () => {
  assert.equal(commonPrefix(['/a/b/x/diff', '/a/b/y/diff']), '/a/b');
  assert.equal(commonPrefix(['/x/diff', '/y/diff']), '/');
});
