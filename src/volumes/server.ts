/**
 * The container's volume server in the launcher: the server end of the private link (a tap in
 * the container's netns), then diod chrooted in its jail, listening on the link address only.
 * It lives exactly as long as the VM: the launcher stops it, by PID, once the VM is gone, and
 * removes the tap and the firewall rule (a pod's netns outlives the container).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Tail } from '../common/tail.ts';
import { waitUntil } from '../common/wait.ts';
import { runIpCommands } from '../network/handoff.ts';
import { type IpRunner, parseIfaces, runIp } from '../network/netns.ts';
import type { GuestNetwork } from '../network/types.ts';
import type { Nic } from '../vmm/vm-spec.ts';
import { firewallArgs, linkCommands, overlapsLink } from './link.ts';
import { DIOD_BINARY } from './plan.ts';
import type { VolumeLink, VolumeServerSpec } from './types.ts';

const CHROOT = '/usr/sbin/chroot';
const LISTEN_TIMEOUT_MS = 10_000;
const run = promisify(execFile);

export class VolumeServerError extends Error {}

export interface VolumeServer {
  nic: Nic;
  /** Kills diod by PID and removes the link; safe to call more than once. */
  stop(): void;
  /** diod's last log lines, for error messages. */
  log(): string;
}

/** Addresses and routes of the container (as handed to the guest) and of the netns now, that the link must not shadow. */
export function linkClash(link: VolumeLink, guest: GuestNetwork, netnsAddrJson: string): string | undefined {
  const cidrs = [
    ...guest.ifaces.flatMap((i) => (i.ipv4 ? [`${i.ipv4.address}/${i.ipv4.prefix}`] : [])),
    ...guest.routes.map((r) => r.dst),
    ...parseIfaces(netnsAddrJson).flatMap((i) => (i.ipv4 ? [`${i.ipv4.address}/${i.ipv4.prefix}`] : [])),
  ];
  return cidrs.find((c) => overlapsLink(link, c));
}

/** "a.b.c.d:port" as /proc/net/tcp writes a local address (little-endian hex on x86). */
function procNetAddr(ip: string, port: number): string {
  const hex = ip.split('.').map((o) => Number.parseInt(o, 10).toString(16).padStart(2, '0').toUpperCase()).reverse().join('');
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

function listening(ip: string, port: number): boolean {
  const want = procNetAddr(ip, port);
  return readFileSync('/proc/net/tcp', 'utf8').split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === want && f[3] === '0A';
  });
}

function diodArgs(v: VolumeServerSpec): string[] {
  // -n: no auth (munge) and -N: no user database (the jail has none): uid/gid come from the
  // guest's attach. -f: stay in the foreground so the launcher owns the PID.
  return [v.jail, DIOD_BINARY, '-f', '-n', '-N', '-L', 'stderr', '-l', `${v.link.serverIp}:${v.link.port}`,
    ...v.exports.flatMap((e) => ['-e', e])];
}

export async function startVolumeServer(
  v: VolumeServerSpec,
  guest: GuestNetwork,
  opts: { iptables?: string[]; debug: boolean },
  ip: IpRunner = runIp,
): Promise<VolumeServer> {
  const { link } = v;
  const clash = linkClash(link, guest, ip(['-json', 'addr', 'show']));
  if (clash) {
    throw new VolumeServerError(`RUNCVM_VOLUMES=9p: the volume link ${link.serverIp}/${link.prefix} overlaps ${clash} in the container's network (use RUNCVM_VOLUMES=virtiofs)`);
  }
  try {
    ip(['link', 'del', link.tap]); // left by a previous start in a netns that outlived it (a pod's)
  } catch {
    // Normally absent.
  }
  runIpCommands('volume link', linkCommands(link), ip);
  const [iptables, ...applet] = opts.iptables ?? [];
  const iptablesArgs = (args: string[]) => [...applet, '-w', '5', ...args];
  let ruleAdded = false;
  const addRule = iptables
    ? run(iptables, iptablesArgs(firewallArgs(link))).then(() => { ruleAdded = true; }, (e: Error) => {
      process.stderr.write(`runcvm: volume link firewall rule not added: ${e.message.trim()}\n`);
    })
    : Promise.resolve();
  const tail = new Tail();
  let child: ChildProcess | undefined;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    try {
      if (ruleAdded && iptables) execFileSync(iptables, iptablesArgs(['-D', ...firewallArgs(link).slice(1)]), { stdio: 'ignore' });
      ip(['link', 'del', link.tap]);
    } catch {
      // Gone with the netns.
    }
  };
  try {
    child = spawn(CHROOT, diodArgs(v), { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = child;
    c.stderr?.on('data', (d: Buffer) => {
      tail.push(d);
      if (opts.debug) process.stderr.write(`runcvm: diod: ${d.toString()}`);
    });
    await waitUntil('the volume server to listen', () => {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new VolumeServerError(`RUNCVM_VOLUMES=9p: diod exited (${c.exitCode ?? c.signalCode}): ${tail.text().trim()}`);
      }
      return listening(link.serverIp, link.port) ? true : undefined;
    }, { timeoutMs: LISTEN_TIMEOUT_MS, intervalMs: 5 });
  } catch (e) {
    await addRule;
    stop();
    throw e;
  }
  await addRule;
  return {
    nic: { id: 'vol0', mac: link.mac, backend: { kind: 'tap', tap: link.tap } },
    stop,
    log: () => tail.text().trim(),
  };
}
