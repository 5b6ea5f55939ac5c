import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigTag, encodeConfig } from './messages.ts';
import { readTlv } from './testdata/tlv-reader.ts';

const base = {
  hostname: 'h',
  rootTag: 'root',
  rootReadonly: false,
  debug: false,
  mounts: [],
  network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
};

test('CONFIG DRIVE_ORDER (tag 22) is one serial per record, in attach order, and absent for QEMU', () => {
  assert.equal(ConfigTag.DRIVE_ORDER, 22);
  const recs = readTlv(encodeConfig({ ...base, driveOrder: ['runcvm-root', 'runcvm-upper', 'runcvm-disk0'] }));
  assert.deepEqual(
    recs.filter((r) => r.tag === 22).map((r) => r.value.toString()),
    ['runcvm-root', 'runcvm-upper', 'runcvm-disk0'],
  );
  assert.equal(readTlv(encodeConfig(base)).filter((r) => r.tag === 22).length, 0);
});
