/** `launcher --net-sync`: runs one at a time, each picking up the last one's state. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FrameDecoder, MsgType } from '../agent-protocol/frame.ts';
import { spareMac } from '../network/hotplug.ts';
import { netSyncFrames, saveNetWatch } from './net-sync.ts';

const iface = (name: string, mac: string, ip?: string) => ({
  ifname: name,
  address: mac,
  mtu: 1500,
  link_type: 'ether',
  addr_info: ip ? [{ family: 'inet', local: ip, prefixlen: 24 }] : [],
});
const reading = (...ifs: object[]) => JSON.stringify(ifs);
const boot = iface('eth0', '06:42:ac:11:00:02', '172.17.0.2');
const added = iface('eth1', '06:42:ac:12:00:02', '172.18.0.2');

test('a connect in one run and the disconnect in a later one use the same spare', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'runcvm-net-sync-')), 'net-watch.json');
  saveNetWatch(['eth0'], 2, path);
  const ip: string[] = [];
  const runner = (a: string[]) => {
    ip.push(a.join(' '));
    return '';
  };
  assert.deepEqual(netSyncFrames(path, reading(boot), runner), []);
  const attach = new FrameDecoder().push(Buffer.concat(netSyncFrames(path, reading(boot, added), runner)));
  assert.equal(attach.length, 1);
  assert.equal(attach[0]?.type, MsgType.NET_ATTACH);
  const mac = attach[0]?.payload.subarray(0, 6);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).used, [['eth1', 0]]);
  assert.ok(
    ip.some((c) => c.includes('tap-spare0')),
    ip.join('\n'),
  );
  // Nothing changed: nothing to say (the supervisor's own ip commands cause events too).
  assert.deepEqual(netSyncFrames(path, reading(boot, added), runner), []);
  const detach = new FrameDecoder().push(Buffer.concat(netSyncFrames(path, reading(boot), runner)));
  assert.deepEqual(
    detach.map((f) => f.type),
    [MsgType.NET_DETACH],
  );
  assert.deepEqual(detach[0]?.payload.subarray(0, 6), mac);
  assert.equal(
    Buffer.from(
      spareMac(0)
        .split(':')
        .map((h) => Number.parseInt(h, 16)),
    ).equals(mac as Buffer),
    true,
  );
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).free, [1, 0]);
});
