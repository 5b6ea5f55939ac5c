/**
 * Reads the interfaces and routes Docker configured in the container's network namespace
 * (the launcher runs inside it) with iproute2's JSON output.
 */
import { execFileSync } from 'node:child_process';
import type { NetIface, NetRoute } from '../contracts/guest-network.ts';

interface IpAddrJson {
  ifname: string;
  address?: string;
  mtu: number;
  link_type?: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

interface IpRouteJson {
  dst: string;
  gateway?: string;
  dev: string;
  protocol?: string;
  scope?: string;
}

export type IpRunner = (args: string[]) => string;

export const runIp: IpRunner = (args) =>
  execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function parseIfaces(json: string): NetIface[] {
  return (JSON.parse(json) as IpAddrJson[])
    .filter((i) => i.link_type !== 'loopback' && i.ifname !== 'lo' && i.address)
    .map((i) => {
      const v4 = (i.addr_info ?? []).find((a) => a.family === 'inet');
      return {
        name: i.ifname,
        mac: i.address as string,
        mtu: i.mtu,
        ...(v4 ? { ipv4: { address: v4.local, prefix: v4.prefixlen } } : {}),
      };
    });
}

/** Routes the guest must add itself: the kernel creates the connected ones from the addresses. */
export function parseRoutes(json: string): NetRoute[] {
  return (JSON.parse(json) as IpRouteJson[])
    .filter((r) => !(r.protocol === 'kernel' && r.scope === 'link'))
    .map((r) => ({ dst: r.dst, dev: r.dev, ...(r.gateway ? { gateway: r.gateway } : {}) }));
}

export function readNetns(ip: IpRunner = runIp): { ifaces: NetIface[]; routes: NetRoute[] } {
  return {
    ifaces: parseIfaces(ip(['-json', 'addr', 'show'])),
    routes: parseRoutes(ip(['-4', '-json', 'route', 'show'])),
  };
}
