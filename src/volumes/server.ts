/**
 * The container's volume server in the launcher: the server end of the private link (a tap in
 * the container's netns), then diod chrooted in its jail, listening on the link address only.
 * It lives exactly as long as the VM: the launcher stops it, by PID, once the VM is gone, and
 * removes the tap and the firewall rule (a pod's netns outlives the container).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Tail } from '../common/tail.ts';
import { waitUntil } from '../common/wait.ts';
import { HostNotReadyError } from '../contracts/errors.ts';
import type { GuestNetwork } from '../contracts/guest-network.ts';
import type { VolumeLink, VolumeServerSpec } from '../contracts/volume-server.ts';
import { runIpCommands } from '../network/handoff.ts';
import { type IpRunner, parseIfaces, runIp } from '../network/netns.ts';
import type { Nic } from '../vmm/vm-spec.ts';
import { firewallArgs, linkCommands, overlapsLink } from './link.ts';
import { DIOD_BINARY } from './plan.ts';

const CHROOT = '/usr/sbin/chroot';
const LISTEN_TIMEOUT_MS = 10_000;

export class VolumeServerError extends HostNotReadyError {}

export interface VolumeServer {
  nic: Nic;
  /** diod's PID, for runcvm-supervisor to adopt as a helper of the VM. */
  pid: number;
  /** The firewall rule's removal, then the tap's: what stop() does after killing diod, for
   * runcvm-supervisor to run once the VM is gone (teardown.h). */
  stopCommands: string[][];
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
  const hex = ip
    .split('.')
    .map((o) => Number.parseInt(o, 10).toString(16).padStart(2, '0').toUpperCase())
    .reverse()
    .join('');
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

function listening(ip: string, port: number): boolean {
  const want = procNetAddr(ip, port);
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === want && f[3] === '0A';
    });
}

function diodArgs(v: VolumeServerSpec): string[] {
  // -n: no auth (munge) and -N: no user database (the jail has none): uid/gid come from the
  // guest's attach. -f: stay in the foreground so the launcher owns the PID.
  return [
    v.jail,
    DIOD_BINARY,
    '-f',
    '-n',
    '-N',
    '-L',
    'stderr',
    '-l',
    `${v.link.serverIp}:${v.link.port}`,
    ...v.exports.flatMap((e) => ['-e', e]),
  ];
}

/** Runs iptables (in the container's netns) with these arguments; throws with its error output. */
export type IptablesRunner = (args: string[]) => void;

/** `cmd` is the host's iptables as install found it (host-config.ts), applet name included. */
function iptablesArgv(cmd: string[], args: string[]): string[] {
  const [bin, ...applet] = cmd;
  return [bin as string, ...applet, '-w', '5', ...args];
}

function iptablesRunner(cmd: string[]): IptablesRunner {
  return (args) => {
    const [bin, ...rest] = iptablesArgv(cmd, args);
    execFileSync(bin as string, rest, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  };
}

/**
 * What stop() does after killing diod, as commands for runcvm-supervisor to run once the VM is
 * gone (pure): the firewall rule's removal first (never a moment the address answers elsewhere
 * while the tap still holds it), then the tap's (its address goes with it).
 */
export function teardownCommands(link: VolumeLink, iptables: string[]): string[][] {
  return [iptablesArgv(iptables, ['-D', ...firewallArgs(link).slice(1)]), ['ip', 'link', 'del', link.tap]];
}

function failure(e: unknown): string {
  return ((e as { stderr?: string }).stderr?.trim() || (e as Error).message).trim();
}

/**
 * The link, its firewall rule, then diod. Fails closed: without the rule a pod sidecar, a
 * container joined with --network container:… (over lo) or a network connected later could reach
 * the server, so a host without iptables or a rule that cannot be added stops the start, and
 * everything made so far (tap, rule, diod) is removed before the error is thrown.
 */
export async function startVolumeServer(
  v: VolumeServerSpec,
  guest: GuestNetwork,
  opts: {
    iptables?: string[];
    debug: boolean;
    output?: (chunk: Buffer) => void;
    /** Under runcvm-supervisor: its file servers' stderr pipe (the write end), which outlives the
     * launcher; diod's words are then read there (host log), not here. */
    stderrFd?: number;
  },
  ip: IpRunner = runIp,
  iptables?: IptablesRunner,
): Promise<VolumeServer> {
  const { link } = v;
  const clash = linkClash(link, guest, ip(['-json', 'addr', 'show']));
  if (clash) {
    throw new VolumeServerError(
      `RUNCVM_VOLUMES=9p: the volume link ${link.serverIp}/${link.prefix} overlaps ${clash} in the container's network (use RUNCVM_VOLUMES=virtiofs)`,
    );
  }
  if (!opts.iptables) {
    throw new VolumeServerError(
      'RUNCVM_VOLUMES=9p: no iptables was found on this host when runcvm was installed, so the volume server ' +
        'cannot be firewalled to its link: install iptables and rerun runcvm install, or use RUNCVM_VOLUMES=virtiofs',
    );
  }
  const fw = iptables ?? iptablesRunner(opts.iptables);
  try {
    ip(['link', 'del', link.tap]); // left by a previous start in a netns that outlived it (a pod's)
  } catch {
    // Normally absent.
  }
  const tail = new Tail();
  let child: ChildProcess | undefined;
  let ruleAdded = false;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    try {
      if (ruleAdded) fw(['-D', ...firewallArgs(link).slice(1)]);
    } catch {
      // Gone with the netns.
    }
    try {
      ip(['link', 'del', link.tap]);
    } catch {
      // Gone with the netns, or never made.
    }
  };
  try {
    runIpCommands('volume link', linkCommands(link), ip);
    // Before diod listens: there is no moment the server is reachable from elsewhere.
    try {
      fw(firewallArgs(link));
    } catch (e) {
      throw new VolumeServerError(
        `RUNCVM_VOLUMES=9p: the volume link's firewall rule could not be added (iptables ${firewallArgs(link).join(' ')}): ${failure(e)}`,
        { cause: e },
      );
    }
    ruleAdded = true;
    child = spawn(CHROOT, diodArgs(v), { stdio: ['ignore', 'ignore', opts.stderrFd ?? 'pipe'] });
    const c = child;
    c.stderr?.on('data', (d: Buffer) => {
      tail.push(d);
      opts.output?.(d);
      if (opts.debug) process.stderr.write(`runcvm: diod: ${d.toString()}`);
    });
    await waitUntil(
      'the volume server to listen',
      () => {
        if (c.exitCode !== null || c.signalCode !== null) {
          throw new VolumeServerError(
            `RUNCVM_VOLUMES=9p: diod exited (${c.exitCode ?? c.signalCode}): ${opts.stderrFd === undefined ? tail.text().trim() : 'its output follows'}`,
          );
        }
        return listening(link.serverIp, link.port) ? true : undefined;
      },
      { timeoutMs: LISTEN_TIMEOUT_MS, intervalMs: 5 },
    );
  } catch (e) {
    stop();
    throw e;
  }
  return {
    nic: { id: 'vol0', mac: link.mac, backend: { kind: 'tap', tap: link.tap } },
    pid: child.pid as number,
    stopCommands: teardownCommands(link, opts.iptables),
    stop,
    log: () => tail.text().trim(),
  };
}
