/**
 * The network the VM gets. A container with its own network namespace hands its interfaces
 * to the guest (handoff.ts). One that shares another namespace (`--network host`,
 * `--network container:X`) must never have those interfaces touched: the guest then gets QEMU's
 * user-mode network, i.e. outbound connections through the launcher's namespace only.
 */

import type { GuestNetwork } from '../contracts/guest-network.ts';
import type { NetworkMode } from '../contracts/kinds.ts';
import type { Nic } from '../vmm/vm-spec.ts';
import { resolvConfUsesDockerDns } from './dns-relay.ts';
import { handoffSteps, nicFor, runIpSteps } from './handoff.ts';
import { SPARE_NICS, spareNics, spareSteps } from './hotplug.ts';
import { type IpRunner, readNetns, runIp } from './netns.ts';

export interface NetworkPlan {
  nics: Nic[];
  guest: GuestNetwork;
}

/** QEMU user networking's fixed addresses (the gateway stands for the launcher's namespace). */
export const USER_NET = { mac: '52:54:00:12:34:56', address: '10.0.2.15', prefix: 24, gateway: '10.0.2.2' };

export function userNetwork(dnsRelay: boolean): NetworkPlan {
  return {
    nics: [{ id: 'net0', mac: USER_NET.mac, backend: { kind: 'user' } }],
    guest: {
      ifaces: [
        { name: 'eth0', mac: USER_NET.mac, mtu: 1500, ipv4: { address: USER_NET.address, prefix: USER_NET.prefix } },
      ],
      routes: [{ dst: 'default', gateway: USER_NET.gateway, dev: 'eth0' }],
      dnsRelay,
      spares: [],
    },
  };
}

export function setUpNetwork(mode: NetworkMode, resolvConf: string, ip: IpRunner = runIp): NetworkPlan {
  const dnsRelay = resolvConfUsesDockerDns(resolvConf);
  if (mode === 'shared') return userNetwork(dnsRelay);
  const all = readNetns(ip);
  // Another VM sharing this netns (a second container of a Kubernetes pod) already owns its
  // addresses: this guest can only go out through the launcher, like a shared namespace.
  if (all.ifaces.some((i) => /^(br|tap)-/.test(i.name))) return userNetwork(dnsRelay);
  const { ifaces, routes } = all;
  // No interface at all is --network none, which Docker never connects to a network later.
  const spareCount = ifaces.length > 0 ? SPARE_NICS : 0;
  // One `ip -batch` for the handoff and the spares' taps (netns.ts, IpRunner.batch).
  runIpSteps([...handoffSteps(ifaces), ...spareSteps(spareCount)], ip);
  const spares = spareNics(spareCount);
  return {
    nics: [...ifaces.map(nicFor), ...spares],
    guest: { ifaces, routes, dnsRelay, spares: spares.map((s) => ({ name: s.id, mac: s.mac })) },
  };
}
