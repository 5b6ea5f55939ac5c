/**
 * `docker network connect/disconnect` on a running container. Docker moves a new veth into (or
 * out of) the container's netns without calling the runtime, and a microvm cannot hot-add a
 * virtio-mmio NIC. So every VM boots with a few spare NICs on taps that lead nowhere; the
 * launcher watches the netns and, when an interface appears, bridges a spare's tap with it and
 * tells the guest to give that NIC the interface's name, MAC and address (NET_ATTACH). When it
 * goes away, the spare is released (NET_DETACH). Beyond the spares, the container's log says
 * the network could not be attached.
 */

import type { NetIface } from '../contracts/guest-network.ts';
import type { Nic } from '../vmm/vm-spec.ts';
import { bridgeName, handoffCommands, type IpStep, runIpCommands } from './handoff.ts';
import { type IpRunner, parseIfaces } from './netns.ts';

export const SPARE_NICS = 2;
export const spareName = (i: number) => `spare${i}`;
export const spareTap = (i: number) => `tap-spare${i}`;
/** Locally administered; each VM has its own netns and guest, so the same MACs never meet. */
export const spareMac = (i: number) => `0a:52:43:56:4d:${i.toString(16).padStart(2, '0')}`;

export interface Spare {
  name: string;
  mac: string;
}

/** The taps of the spare NICs (setup.ts runs these steps with the handoff's). */
export const spareSteps = (count = SPARE_NICS): IpStep[] =>
  Array.from({ length: count }, (_, i) => [
    { what: `spare NIC ${i}`, args: ['tuntap', 'add', 'dev', spareTap(i), 'mode', 'tap'] },
    { what: `spare NIC ${i}`, args: ['link', 'set', spareTap(i), 'up'] },
  ]).flat();

export const spareNics = (count = SPARE_NICS): Nic[] =>
  Array.from({ length: count }, (_, i) => ({
    id: spareName(i),
    mac: spareMac(i),
    backend: { kind: 'tap', tap: spareTap(i) },
  }));

export interface GuestNetControl {
  attach(spare: Spare, iface: NetIface): void;
  /** spare null: an interface the VM booted with; the guest only takes it down. */
  detach(spare: Spare | null, name: string): void;
  problem(message: string): void;
}

/** What a NetWatcher knows between two runs of a short-lived watcher (launcher/net-sync.ts). */
export interface NetWatchState {
  known: string[];
  free: number[];
  used: [string, number][];
  reported: string[];
}

/** Tracks which interface uses which spare; `sync` is called with each fresh `ip -json addr` reading. */
export class NetWatcher {
  private readonly free: number[];
  private readonly used = new Map<string, number>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly known: Set<string>,
    spares: number,
    private readonly ip: IpRunner,
    private readonly guest: GuestNetControl,
    state?: NetWatchState,
  ) {
    this.free = state ? [...state.free] : Array.from({ length: spares }, (_, i) => spares - 1 - i);
    for (const [name, k] of state?.used ?? []) this.used.set(name, k);
    for (const name of state?.reported ?? []) this.reported.add(name);
  }

  snapshot(): NetWatchState {
    return { known: [...this.known], free: [...this.free], used: [...this.used], reported: [...this.reported] };
  }

  sync(addrJson: string): void {
    const present = parseIfaces(addrJson).filter((i) => !/^(br|tap)-/.test(i.name));
    for (const i of present) {
      if (this.known.has(i.name) || this.used.has(i.name) || !i.ipv4) continue;
      this.attach(i);
    }
    const names = new Set(present.map((i) => i.name));
    for (const name of [...this.known, ...this.used.keys()]) if (!names.has(name)) this.detach(name);
  }

  private attach(i: NetIface): void {
    const k = this.free.pop();
    if (k === undefined) {
      if (!this.reported.has(i.name)) {
        this.reported.add(i.name);
        this.guest.problem(
          `network connect: cannot attach ${i.name} (${i.ipv4?.address}) to the running VM: all ${SPARE_NICS} spare NICs are in use; restart the container to use it`,
        );
      }
      return;
    }
    try {
      runIpCommands(`network connect of ${i.name}`, handoffCommands(i, spareTap(k)), this.ip);
      this.used.set(i.name, k);
      this.guest.attach({ name: spareName(k), mac: spareMac(k) }, i);
    } catch (e) {
      this.free.push(k);
      this.guest.problem((e as Error).message);
    }
  }

  private detach(name: string): void {
    this.known.delete(name);
    const k = this.used.get(name);
    try {
      this.ip(['link', 'del', bridgeName(name)]);
    } catch {
      // Already gone with the veth.
    }
    if (k === undefined) {
      this.guest.detach(null, name);
      return;
    }
    this.used.delete(name);
    this.free.push(k);
    this.guest.detach({ name: spareName(k), mac: spareMac(k) }, name);
  }
}
