import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetWatcher, SPARE_NICS, spareMac } from './hotplug.ts';

const iface = (name: string, mac: string, ip?: string) => ({
  ifname: name,
  address: mac,
  mtu: 1500,
  link_type: 'ether',
  addr_info: ip ? [{ family: 'inet', local: ip, prefixlen: 24 }] : [],
});
const reading = (...ifs: object[]) =>
  JSON.stringify([{ ifname: 'lo', link_type: 'loopback', mtu: 65536, address: '00:00:00:00:00:00' }, ...ifs]);

function harness() {
  const ip: string[] = [];
  const events: string[] = [];
  const w = new NetWatcher(
    new Set(['eth0']),
    SPARE_NICS,
    (a) => {
      ip.push(a.join(' '));
      return '';
    },
    {
      attach: (s, i) => events.push(`attach ${s.name} ${i.name} ${i.ipv4?.address}`),
      detach: (s, n) => events.push(`detach ${s?.name ?? 'boot'} ${n}`),
      problem: (m) => events.push(`problem ${m}`),
    },
  );
  return { w, ip, events };
}

const boot = iface('eth0', '06:42:ac:11:00:02');
const bridges = [iface('br-eth0', '06:42:ac:11:00:02'), iface('tap-eth0', 'aa:aa:aa:aa:aa:aa')];

test('a new interface with an address takes a spare; its removal gives the spare back', () => {
  const { w, ip, events } = harness();
  w.sync(reading(boot, ...bridges));
  assert.deepEqual(events, []);
  w.sync(reading(boot, ...bridges, iface('eth1', '02:42:ac:1f:fc:02')));
  assert.deepEqual(events, [], 'no address yet: wait for Docker to finish configuring it');
  w.sync(reading(boot, ...bridges, iface('eth1', '02:42:ac:1f:fc:02', '172.31.252.2')));
  assert.deepEqual(events, ['attach spare0 eth1 172.31.252.2']);
  assert.ok(ip.includes('link set tap-spare0 mtu 1500 master br-eth1'));
  assert.ok(!ip.some((c) => c.startsWith('tuntap')), 'the spare tap exists already');
  w.sync(reading(boot, ...bridges));
  assert.deepEqual(events.slice(1), ['detach spare0 eth1']);
  assert.ok(ip.includes('link del br-eth1'));
  w.sync(reading(boot, ...bridges, iface('eth2', '02:42:ac:1f:fd:02', '172.31.253.2')));
  assert.equal(events.at(-1), 'attach spare0 eth2 172.31.253.2');
});

test('beyond the spares the container log says so, once', () => {
  const { w, events } = harness();
  const extra = [1, 2, 3].map((n) => iface(`eth${n}`, `02:42:ac:1f:f${n}:02`, `172.31.25${n}.2`));
  w.sync(reading(boot, ...extra));
  w.sync(reading(boot, ...extra));
  assert.deepEqual(events.filter((e) => e.startsWith('attach')).length, SPARE_NICS);
  const problems = events.filter((e) => e.startsWith('problem'));
  assert.equal(problems.length, 1);
  assert.match(problems[0] as string, /cannot attach eth3 .* all 2 spare NICs are in use; restart the container/);
});

test('disconnecting a network the VM booted with takes that NIC down in the guest', () => {
  const { w, events } = harness();
  w.sync(reading());
  assert.deepEqual(events, ['detach boot eth0']);
  assert.equal(spareMac(1), '0a:52:43:56:4d:01');
});
