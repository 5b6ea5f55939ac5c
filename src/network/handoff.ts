/**
 * Hands each of the container's interfaces to the VM: the interface keeps its place in
 * Docker's network (veth to the bridge, iptables, port DNAT, embedded DNS all unchanged) but
 * loses its address to the guest, which takes over the IP, MAC and MTU through a tap bridged
 * with it. Only the container's own network namespace is ever touched.
 */

import type { NetIface } from '../contracts/guest-network.ts';
import type { Nic } from '../vmm/vm-spec.ts';
import { batchSafe, IpBatchFailure, type IpRunner } from './netns.ts';

/**
 * The container-side interface must stop using the MAC the guest takes over: a bridge delivers
 * frames for its ports' own addresses locally instead of forwarding them to the tap.
 */
export function displacedMac(mac: string): string {
  const parts = mac.split(':');
  const first = Number.parseInt(parts[0] as string, 16);
  // Flip a bit that keeps the address unicast and locally administered.
  parts[0] = ((first ^ 0x04) | 0x02).toString(16).padStart(2, '0');
  return parts.join(':');
}

export const bridgeName = (iface: string) => `br-${iface}`.slice(0, 15);
export const tapName = (iface: string) => `tap-${iface}`.slice(0, 15);

/**
 * The `ip` commands for one interface, in order (pure, unit-tested). `existingTap`: bridge an
 * already attached spare tap (network connect on a running container) instead of a new one.
 */
export function handoffCommands(i: NetIface, existingTap?: string): string[][] {
  const br = bridgeName(i.name);
  const tap = existingTap ?? tapName(i.name);
  const cmds = [
    ['addr', 'flush', 'dev', i.name],
    ['link', 'set', i.name, 'down'],
    ['link', 'set', i.name, 'address', displacedMac(i.mac)],
    ['link', 'add', br, 'type', 'bridge', 'forward_delay', '0'],
    ['link', 'set', br, 'mtu', String(i.mtu)],
    ['link', 'set', i.name, 'master', br],
    ['tuntap', 'add', 'dev', tap, 'mode', 'tap'],
    ['link', 'set', tap, 'mtu', String(i.mtu), 'master', br],
    ['link', 'set', tap, 'up'],
    ['link', 'set', i.name, 'up'],
    ['link', 'set', br, 'up'],
  ];
  return existingTap ? cmds.filter((c) => c[0] !== 'tuntap') : cmds;
}

/** One `ip` change and what it is for, named in its error. */
export interface IpStep {
  what: string;
  args: string[];
}

/** Runs the steps in order, in one `ip -batch` when the runner can; the first failure stops them. */
export function runIpSteps(steps: IpStep[], ip: IpRunner): void {
  const failed = (step: IpStep, stderr: string | undefined, e: unknown) =>
    new Error(`${step.what}: ip ${step.args.join(' ')} failed: ${stderr || (e as Error).message}`);
  const cmds = steps.map((s) => s.args);
  if (ip.batch && steps.length > 1 && batchSafe(cmds)) {
    try {
      ip.batch(cmds);
      return;
    } catch (e) {
      const step = e instanceof IpBatchFailure ? steps[e.index] : undefined;
      if (step) throw failed(step, (e as IpBatchFailure).stderr, e);
      throw new Error(`${steps[0]?.what}: ip -batch failed: ${(e as Error).message}`);
    }
  }
  for (const step of steps) {
    try {
      ip(step.args);
    } catch (e) {
      throw failed(step, (e as { stderr?: string }).stderr?.trim(), e);
    }
  }
}

export function runIpCommands(what: string, cmds: string[][], ip: IpRunner): void {
  runIpSteps(
    cmds.map((args) => ({ what, args })),
    ip,
  );
}

export function nicFor(i: NetIface, index: number): Nic {
  return { id: `net${index}`, mac: i.mac, backend: { kind: 'tap', tap: tapName(i.name) } };
}

/** The steps handing every interface over, in order (setup.ts runs them with the spares'). */
export const handoffSteps = (ifaces: NetIface[]): IpStep[] =>
  ifaces.flatMap((i) => handoffCommands(i).map((args) => ({ what: `network handoff of ${i.name}`, args })));
