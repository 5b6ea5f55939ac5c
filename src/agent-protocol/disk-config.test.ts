import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigTag, encodeConfig } from './messages.ts';
import { readTlv } from './testdata/tlv-reader.ts';

test('CONFIG DISK record (tag 10) is flags then serial NUL destination NUL fstype, one per disk', () => {
  const recs = readTlv(
    encodeConfig({
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: true,
      debug: false,
      mounts: [],
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
      disks: [
        { serial: 'runcvm-disk0', destination: '/var/lib/docker', fs: 'ext4', flags: 0 },
        { serial: 'runcvm-disk1', destination: '/b', fs: 'ext2', flags: 1 },
      ],
    }),
  );
  const disks = recs.filter((r) => r.tag === ConfigTag.DISK);
  assert.equal(ConfigTag.DISK, 10);
  assert.deepEqual(
    disks.map((d) => [d.value.readUInt32LE(0), d.value.subarray(4).toString()]),
    [
      [0, 'runcvm-disk0\0/var/lib/docker\0ext4'],
      [1, 'runcvm-disk1\0/b\0ext2'],
    ],
  );
});

test('CONFIG VOLUME_LINK (tag 15) and VOLUME_9P (tag 16): the link NIC and 9P mounts in mount order', () => {
  const recs = readTlv(
    encodeConfig({
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: false,
      debug: false,
      mounts: [
        { kind: '9p', destination: '/data', flags: 1, options: 'trans=tcp,aname=/v/0', file: false },
        { kind: 'tmpfs', destination: '/t', flags: 0, data: '' },
        { kind: '9p', destination: '/etc/hosts', flags: 0, options: 'trans=tcp,aname=/f/1', file: true },
      ],
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
      volumeLink: {
        tap: 'tap-vol-1',
        mac: '0a:52:43:56:39:70',
        guestName: 'runcvm-vol',
        serverIp: '169.254.1.1',
        guestIp: '169.254.1.2',
        prefix: 30,
        port: 564,
      },
    }),
  );
  assert.deepEqual([ConfigTag.VOLUME_LINK, ConfigTag.VOLUME_9P], [15, 16]);
  const link = recs.find((r) => r.tag === ConfigTag.VOLUME_LINK)?.value as Buffer;
  assert.equal(
    link.toString('hex'),
    `0a524356397000001e00a9fe0102a9fe0101${Buffer.from('runcvm-vol').toString('hex')}`,
  );
  const mounts = recs.filter((r) => r.tag === ConfigTag.VOLUME_9P || r.tag === ConfigTag.TMPFS);
  assert.deepEqual(
    mounts.map((m) => [m.tag, m.value.readUInt32LE(0), m.value.subarray(4).toString()]),
    [
      [16, 1, '/data\0trans=tcp,aname=/v/0\0'],
      [5, 0, '/t\0'],
      [16, 0, '/etc/hosts\0trans=tcp,aname=/f/1\0file'],
    ],
  );
});
