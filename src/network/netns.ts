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
  /** Several reads in one `ip -json -batch -` process: each command's JSON, in order. */
  query?: (cmds: string[][]) => string[];
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

/**
 * An IpRunner running `ip` through `wrap` (a command that runs its arguments, or none): one
 * implementation for the launcher's own namespace and for another one entered from outside.
 */
export function ipRunner(wrap: readonly string[] = []): IpRunner {
  const file = wrap[0] ?? 'ip';
  const pre = wrap.length > 0 ? [...wrap.slice(1), 'ip'] : [];
  return Object.assign(
    (args: string[]) => execFileSync(file, [...pre, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    {
      query: (cmds: string[][]) => {
        const out = execFileSync(file, [...pre, '-json', '-batch', '-'], {
          input: cmds.map((c) => `${c.join(' ')}\n`).join(''),
          encoding: 'utf8',
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        return splitQuery(out, cmds.length);
      },
      batch: (cmds: string[][]) => {
        try {
          execFileSync(file, [...pre, '-batch', '-'], {
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
}

/** `ip -json -batch` prints one line of JSON per command (iproute2 ends each object with one). */
export function splitQuery(out: string, count: number): string[] {
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== count) throw new Error(`ip -json -batch: ${lines.length} results for ${count} commands`);
  return lines;
}

/** `ip` in this process's network namespace (the launcher's, inside the container's sandbox). */
export const runIp: IpRunner = ipRunner();

/** util-linux's nsenter: Debian's util-linux package (Essential), so every host has it. */
export const NSENTER = '/usr/bin/nsenter';

/**
 * `ip` in the network namespace of process `pid` (a sandbox's init, seen from the host): only
 * the network namespace is entered, so `ip` and /dev/net/tun are the host's own binaries and
 * device, never files of the container.
 */
export function ipInNetnsOf(pid: number, nsenter = NSENTER): IpRunner {
  if (!Number.isInteger(pid) || pid < 2)
    throw new Error(`entering the network namespace of pid ${pid}: not a process id`);
  return ipRunner([nsenter, `--net=/proc/${pid}/ns/net`, '--']);
}

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

/** The interfaces and IPv4 routes (`route show` is IPv4's table): one `ip` process when it can. */
export function readNetns(ip: IpRunner = runIp): { ifaces: NetIface[]; routes: NetRoute[] } {
  const [addr, route] = ip.query
    ? ip.query([
        ['addr', 'show'],
        ['route', 'show'],
      ])
    : [ip(['-json', 'addr', 'show']), ip(['-4', '-json', 'route', 'show'])];
  return { ifaces: parseIfaces(addr ?? ''), routes: parseRoutes(route ?? '') };
}
