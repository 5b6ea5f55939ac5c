/**
 * `launcher --net-sync`: one look at the container's network for runcvm-supervisor, which runs
 * it when netlink reports a link or address change (instead of the launcher polling `ip` and
 * `iptables` every second). It picks up where the last run left off (the spare NICs in use, in
 * NET_WATCH_STATE), bridges a new interface to a spare or releases one (hotplug.ts), mirrors
 * Swarm's port redirects, and prints the NET_ATTACH/NET_DETACH frames for the guest on stdout,
 * which the supervisor forwards on the agent channel. Problems go to stderr, the container's log.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeSync } from 'node:fs';
import { encodeFrame, MsgType } from '../agent-protocol/frame.ts';
import { encodeNetAttach, encodeNetDetach } from '../agent-protocol/messages.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { describeError } from '../contracts/errors.ts';
import { RUN_DIR, SPEC_PATH } from '../contracts/launch-spec.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import { NetWatcher, type NetWatchState } from '../network/hotplug.ts';
import { runIp } from '../network/netns.ts';
import { mirrorRedirects } from '../network/port-redirects.ts';

export const NET_SYNC_FLAG = '--net-sync';
export const NET_WATCH_STATE = `${RUN_DIR}/net-watch.json`;

interface Saved extends NetWatchState {
  spares: number;
}

/** The watch's state before the first run: the interfaces the VM booted with, every spare free. */
export function saveNetWatch(known: string[], spares: number, path = NET_WATCH_STATE): void {
  const free = Array.from({ length: spares }, (_, i) => spares - 1 - i);
  const s: Saved = { known, free, used: [], reported: [], spares };
  writeFileAtomic(path, JSON.stringify(s), 0o600);
}

function loadNetWatch(path: string): Saved {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Saved;
  if (!Array.isArray(s.known) || !Array.isArray(s.free) || !Array.isArray(s.used) || !Array.isArray(s.reported))
    throw new Error(`${path}: not a network watch state`);
  return s;
}

/** One sync: returns the frames for the guest (pure apart from `ip` and the state file). */
export function netSyncFrames(path: string, addrJson: string, ip = runIp): Buffer[] {
  const saved = loadNetWatch(path);
  const frames: Buffer[] = [];
  const watcher = new NetWatcher(
    new Set(saved.known),
    saved.spares,
    ip,
    {
      attach: (spare, iface) => frames.push(encodeFrame(MsgType.NET_ATTACH, 0, encodeNetAttach(spare.mac, iface))),
      detach: (spare, name) =>
        frames.push(encodeFrame(MsgType.NET_DETACH, 0, encodeNetDetach(spare?.mac ?? null, name))),
      problem: (message) => process.stderr.write(`runcvm: ${message}\n`),
    },
    saved,
  );
  watcher.sync(addrJson);
  writeFileAtomic(path, JSON.stringify({ ...watcher.snapshot(), spares: saved.spares }), 0o600);
  return frames;
}

export function runNetSync(): number {
  try {
    const spec = readLaunchSpec(SPEC_PATH);
    for (const f of netSyncFrames(NET_WATCH_STATE, runIp(['-json', 'addr', 'show']))) writeSync(1, f);
    const [iptables, ...applet] = spec.iptables ?? [];
    if (iptables !== undefined) {
      try {
        mirrorRedirects((args) =>
          execFileSync(iptables, [...applet, '-w', '2', ...args], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          }),
        );
      } catch (e) {
        if (spec.runtimeDebug) process.stderr.write(`runcvm: port redirects: ${describeError(e)}\n`);
      }
    }
    return 0;
  } catch (e) {
    process.stderr.write(`runcvm: watching the container's network: ${describeError(e)}\n`);
    return 1;
  }
}
