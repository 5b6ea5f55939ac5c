// The volume server fails closed: a firewall rule that cannot be added, or no iptables at all,
// stops the start, and nothing made for it (tap, rule, diod) is left in the container's netns.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GuestNetwork } from '../contracts/guest-network.ts';
import type { VolumeServerSpec } from '../contracts/volume-server.ts';
import type { IpRunner } from '../network/netns.ts';
import { linkFor } from './link.ts';
import { type IptablesRunner, startVolumeServer, teardownCommands, VolumeServerError } from './server.ts';

const GUEST: GuestNetwork = { ifaces: [], routes: [], dnsRelay: false, spares: [] };
// Never the real one: if the injected runner were ignored, this fails harmlessly instead of changing the host's rules.
const IPTABLES = ['/bin/false'];

function spec(jail = '/nonexistent-runcvm-jail'): VolumeServerSpec {
  return { link: linkFor('c0ffee'), jail, exports: ['/v/0'] };
}

/** A netns that records what is done to it and holds the taps and rules that exist. */
function fakeNetns(opts: { ruleError?: string } = {}) {
  const events: string[] = [];
  const taps = new Set<string>();
  const rules = new Set<string>();
  const ip: IpRunner = (args) => {
    events.push(`ip ${args.join(' ')}`);
    if (args[0] === '-json') return '[]';
    if (args[0] === 'tuntap' && args[1] === 'add') taps.add(args[3] as string);
    if (args[0] === 'link' && args[1] === 'del' && !taps.delete(args[2] as string))
      throw new Error(`Cannot find device "${args[2]}"`);
    return '';
  };
  const iptables: IptablesRunner = (args) => {
    events.push(`iptables ${args.join(' ')}`);
    const rule = args.slice(1).join(' ');
    if (args[0] === '-I') {
      if (opts.ruleError) throw Object.assign(new Error('Command failed: iptables'), { stderr: `${opts.ruleError}\n` });
      rules.add(rule);
    } else if (args[0] === '-D') {
      rules.delete(rule);
    }
  };
  return { events, taps, rules, ip, iptables };
}

test('a firewall rule that cannot be added stops the start before diod, naming 9p and the iptables error; the tap is removed', async () => {
  const ns = fakeNetns({
    ruleError: 'iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied',
  });
  const v = spec();
  await assert.rejects(
    startVolumeServer(v, GUEST, { iptables: IPTABLES, debug: false }, ns.ip, ns.iptables),
    (e: Error) => {
      assert.ok(e instanceof VolumeServerError, `not a VolumeServerError: ${e.message}`);
      assert.match(
        e.message,
        /^RUNCVM_VOLUMES=9p: the volume link's firewall rule could not be added \(iptables -I INPUT -d 169\.254\.\S+\/32 ! -i tap-vol-\w+ -j DROP\): .*Permission denied$/,
      );
      return true;
    },
  );
  assert.deepEqual([...ns.taps], []);
  assert.deepEqual([...ns.rules], []);
  // Link made, rule refused, link removed: diod was never started (it would have failed on the missing jail).
  assert.deepEqual(ns.events.slice(1), [
    `ip link del ${v.link.tap}`,
    `ip tuntap add dev ${v.link.tap} mode tap`,
    `ip link set ${v.link.tap} up`,
    `ip addr add ${v.link.serverIp}/30 dev ${v.link.tap}`,
    `iptables -I INPUT -d ${v.link.serverIp}/32 ! -i ${v.link.tap} -j DROP`,
    `ip link del ${v.link.tap}`,
  ]);
});

test('no iptables known on the host: refused before anything is made in the netns', async () => {
  const ns = fakeNetns();
  await assert.rejects(startVolumeServer(spec(), GUEST, { debug: false }, ns.ip, ns.iptables), (e: Error) => {
    assert.ok(e instanceof VolumeServerError, `not a VolumeServerError: ${e.message}`);
    assert.match(e.message, /^RUNCVM_VOLUMES=9p: no iptables .* use RUNCVM_VOLUMES=virtiofs$/);
    return true;
  });
  assert.deepEqual(ns.events, ['ip -json addr show']);
});

test('diod failing to start removes its rule and the tap', async () => {
  const ns = fakeNetns();
  await assert.rejects(
    startVolumeServer(spec(), GUEST, { iptables: IPTABLES, debug: false }, ns.ip, ns.iptables),
    /RUNCVM_VOLUMES=9p: diod exited \(125\)/,
  );
  assert.deepEqual([...ns.taps], []);
  assert.deepEqual([...ns.rules], []);
  assert.ok(
    ns.events.some((e) => e.startsWith('iptables -D INPUT')),
    'rule not removed',
  );
});

test("the supervisor's teardown commands undo the rule and the tap exactly as stop() does", async () => {
  const v = spec();
  const cmds = teardownCommands(v.link, ['/usr/sbin/xtables-nft-multi', 'iptables']);
  assert.deepEqual(cmds, [
    [
      '/usr/sbin/xtables-nft-multi',
      'iptables',
      '-w',
      '5',
      '-D',
      'INPUT',
      '-d',
      `${v.link.serverIp}/32`,
      '!',
      '-i',
      v.link.tap,
      '-j',
      'DROP',
    ],
    ['ip', 'link', 'del', v.link.tap],
  ]);
  // The same -D stop() issues (the failing diod below runs it), and the rule it deletes is the one added.
  const ns = fakeNetns();
  await assert.rejects(startVolumeServer(v, GUEST, { iptables: IPTABLES, debug: false }, ns.ip, ns.iptables));
  const added = ns.events.find((e) => e.startsWith('iptables -I'))?.replace('iptables -I', '-D');
  assert.equal(added, (cmds[0] as string[]).slice(4).join(' '));
  assert.ok(ns.events.includes(`iptables ${(cmds[0] as string[]).slice(4).join(' ')}`));
  assert.ok(ns.events.includes((cmds[1] as string[]).join(' ')));
});
