import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displacedMac, handoffCommands, handoffSteps, runIpSteps } from './handoff.ts';
import { spareSteps } from './hotplug.ts';
import {
  batchFailure,
  batchSafe,
  IpBatchFailure,
  type IpRunner,
  parseIfaces,
  parseRoutes,
  readNetns,
  splitQuery,
} from './netns.ts';

// Captured from `ip -json addr show` / `ip -4 -json route show` in a Docker 20.10 container.
const ADDR =
  '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},{"ifindex":660,"link_index":661,"ifname":"eth0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"link_type":"ether","address":"02:42:ac:11:00:04","addr_info":[{"family":"inet","local":"172.17.0.4","prefixlen":16,"broadcast":"172.17.255.255","scope":"global","label":"eth0"}]}]';
const ROUTE =
  '[{"dst":"default","gateway":"172.17.0.1","dev":"eth0","flags":[]},{"dst":"172.17.0.0/16","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"172.17.0.4","flags":[]}]';

test('reads interfaces (not lo) and the routes the guest must add', () => {
  assert.deepEqual(parseIfaces(ADDR), [
    { name: 'eth0', mac: '02:42:ac:11:00:04', mtu: 1500, ipv4: { address: '172.17.0.4', prefix: 16 } },
  ]);
  assert.deepEqual(parseRoutes(ROUTE), [{ dst: 'default', gateway: '172.17.0.1', dev: 'eth0' }]);
  assert.deepEqual(
    parseIfaces('[{"ifname":"lo","link_type":"loopback","mtu":65536,"address":"00:00:00:00:00:00"}]'),
    [],
  );
});

test('the displaced MAC differs and stays unicast and locally administered', () => {
  const m = displacedMac('02:42:ac:11:00:04');
  assert.equal(m, '06:42:ac:11:00:04');
  const first = Number.parseInt(m.slice(0, 2), 16);
  assert.equal(first & 1, 0);
  assert.equal(first & 2, 2);
});

test('handoff bridges the interface with a tap and gives its address up', () => {
  const cmds = handoffCommands({ name: 'eth0', mac: '02:42:ac:11:00:04', mtu: 1450 });
  assert.deepEqual(cmds[0], ['addr', 'flush', 'dev', 'eth0']);
  assert.ok(cmds.some((c) => c.join(' ') === 'link set eth0 master br-eth0'));
  assert.ok(cmds.some((c) => c.join(' ') === 'tuntap add dev tap-eth0 mode tap'));
  assert.ok(cmds.some((c) => c.join(' ') === 'link set tap-eth0 mtu 1450 master br-eth0'));
  // Only interfaces of the container's netns are named: no command addresses another namespace.
  assert.ok(cmds.every((c) => !c.includes('netns') && !c.includes('-n')));
});

test('a failing ip command names the interface and the command', () => {
  const ran: string[] = [];
  const ip = (args: string[]) => {
    ran.push(args.join(' '));
    if (args[0] === 'tuntap')
      throw Object.assign(new Error('exit 2'), { stderr: 'ioctl(TUNSETIFF): Operation not permitted' });
    return '';
  };
  assert.throws(
    () => runIpSteps(handoffSteps([{ name: 'eth0', mac: '02:42:ac:11:00:04', mtu: 1500 }]), ip),
    /network handoff of eth0: ip tuntap add dev tap-eth0 mode tap failed: ioctl\(TUNSETIFF\): Operation not permitted/,
  );
  assert.deepEqual(
    readNetns((a) => (a.includes('addr') ? ADDR : ROUTE)).ifaces.map((i) => i.name),
    ['eth0'],
  );
});

test('a netns whose interfaces another VM already took gets the user-mode network', async () => {
  const { setUpNetwork } = await import('./setup.ts');
  const taken =
    '[{"ifname":"eth0","mtu":1500,"link_type":"ether","address":"06:42:ac:11:00:04","addr_info":[]},{"ifname":"br-eth0","mtu":1500,"link_type":"ether","address":"06:42:ac:11:00:04","addr_info":[]}]';
  const ran: string[] = [];
  const plan = setUpNetwork('own', 'nameserver 10.0.0.2\n', (a) => {
    ran.push(a.join(' '));
    return a.includes('addr') ? taken : '[]';
  });
  assert.deepEqual(
    plan.nics.map((n) => n.backend.kind),
    ['user'],
  );
  assert.ok(
    ran.every((c) => c.includes('-json')),
    'nothing is changed in a netns another VM uses',
  );
});

test('the handoff and the spare taps run as one ip -batch; a failing line names its step', () => {
  const batches: string[][][] = [];
  const single: string[] = [];
  const ip: IpRunner = Object.assign(
    (a: string[]) => {
      single.push(a.join(' '));
      return '';
    },
    {
      batch: (cmds: string[][]) => {
        batches.push(cmds);
        const k = cmds.findIndex((c) => c.join(' ') === 'tuntap add dev tap-spare1 mode tap');
        if (k >= 0 && batches.length === 2) throw new IpBatchFailure(k, 'ioctl(TUNSETIFF): Device or resource busy');
      },
    },
  );
  const steps = [...handoffSteps([{ name: 'eth0', mac: '02:42:ac:11:00:04', mtu: 1500 }]), ...spareSteps()];
  runIpSteps(steps, ip);
  assert.equal(batches.length, 1);
  assert.deepEqual(single, []);
  assert.deepEqual(
    batches[0],
    steps.map((s) => s.args),
  );
  assert.throws(
    () => runIpSteps(steps, ip),
    /^Error: spare NIC 1: ip tuntap add dev tap-spare1 mode tap failed: ioctl\(TUNSETIFF\): Device or resource busy$/,
  );
  // A word ip's batch parser would split or drop (a blank, a quote, a comment) runs one by one.
  runIpSteps(handoffSteps([{ name: 'eth#0', mac: '02:42:ac:11:00:04', mtu: 1500 }]), ip);
  assert.equal(batches.length, 2);
  assert.equal(single[0], 'addr flush dev eth#0');
  assert.equal(batchSafe([['link', 'set', 'eth0', 'up']]), true);
  assert.equal(batchSafe([['link', 'set', 'a b', 'up']]), false);
});

test("ip -batch's report of its failing line is read back", () => {
  const f = batchFailure('Cannot find device "nosuch"\nCommand failed -:3\n', 4);
  assert.equal(f?.index, 2);
  assert.equal(f?.stderr, 'Cannot find device "nosuch"');
  // A line number outside the batch, or no report at all, is not trusted.
  assert.equal(batchFailure('Command failed -:9\n', 4), undefined);
  assert.equal(batchFailure('Segmentation fault\n', 4), undefined);
});

test('ip -json -batch: one line of JSON per command, anything else is refused', () => {
  assert.deepEqual(splitQuery('[{"a":1}]\n[]\n', 2), ['[{"a":1}]', '[]']);
  assert.throws(() => splitQuery('[]\n', 2), /1 results for 2 commands/);
});
