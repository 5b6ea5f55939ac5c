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

/**
 * Runs one `ip` command and returns its stdout. `batch`, when present, runs several changes in one
 * `ip -batch -` process: a start hands the container's interfaces over with ~15 commands, and
 * each exec of `ip` from Node cost 2-5 ms on an idle host, several times that under load.
 */
export interface IpRunner {
  (args: string[]): string;
  batch?: (cmds: string[][]) => void;
}

/** A failed `ip -batch` line: which command (0-based) and what ip said about it. */
export class IpBatchFailure extends Error {
  constructor(
    readonly index: number,
    readonly stderr: string,
  ) {
    super(`ip -batch: command ${index + 1} failed: ${stderr}`);
  }
}

/** Words ip's batch parser takes as they are: no blanks, quotes, escapes or comments. */
export const batchSafe = (cmds: string[][]): boolean => cmds.every((c) => c.every((a) => /^[^\s"'#\\]+$/.test(a)));

/** ip -batch stops at the first failing line and says `Command failed -:N` after its own error. */
export function batchFailure(stderr: string, count: number): IpBatchFailure | undefined {
  const m = /^Command failed -:(\d+)$/m.exec(stderr);
  const line = m ? Number(m[1]) : 0;
  if (line < 1 || line > count) return undefined;
  return new IpBatchFailure(line - 1, stderr.replace(/^Command failed -:\d+\n?/m, '').trim());
}

export const runIp: IpRunner = Object.assign(
  (args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  {
    batch: (cmds: string[][]) => {
      try {
        execFileSync('ip', ['-batch', '-'], {
          input: cmds.map((c) => `${c.join(' ')}\n`).join(''),
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'pipe'],
        });
      } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? '');
        throw batchFailure(stderr, cmds.length) ?? e;
      }
    },
  },
);

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
