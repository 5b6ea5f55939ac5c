import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigTag, encodeConfig } from './messages.ts';
import { readTlv } from './tlv.ts';

test('CONFIG DISK record (tag 10) is flags then serial NUL destination NUL fstype, one per disk', () => {
  const recs = readTlv(encodeConfig({ hostname: 'h', rootTag: 'root', rootReadonly: true, debug: false, mounts: [],
    network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
    disks: [
      { serial: 'runcvm-disk0', destination: '/var/lib/docker', fs: 'ext4', flags: 0 },
      { serial: 'runcvm-disk1', destination: '/b', fs: 'ext2', flags: 1 },
    ] }));
  const disks = recs.filter((r) => r.tag === ConfigTag.DISK);
  assert.equal(ConfigTag.DISK, 10);
  assert.deepEqual(disks.map((d) => [d.value.readUInt32LE(0), d.value.subarray(4).toString()]), [
    [0, 'runcvm-disk0\0/var/lib/docker\0ext4'],
    [1, 'runcvm-disk1\0/b\0ext2'],
  ]);
});
