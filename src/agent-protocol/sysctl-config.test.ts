import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigTag, encodeConfig } from './messages.ts';
import { readTlv } from './testdata/tlv-reader.ts';

test('CONFIG SYSCTL records (tag 24) are path NUL value, one per sysctl, in order', () => {
  const recs = readTlv(
    encodeConfig({
      hostname: 'h',
      rootTag: 'root',
      rootReadonly: false,
      debug: false,
      mounts: [],
      network: { ifaces: [], routes: [], dnsRelay: false, spares: [] },
      sysctls: [
        { path: 'net/ipv4/ping_group_range', value: '0 2147483647' },
        { path: 'kernel/msgmax', value: '65536' },
      ],
    }),
  );
  assert.equal(ConfigTag.SYSCTL, 24);
  assert.deepEqual(
    recs.filter((r) => r.tag === ConfigTag.SYSCTL).map((r) => r.value.toString()),
    ['net/ipv4/ping_group_range\x000 2147483647', 'kernel/msgmax\x0065536'],
  );
});
