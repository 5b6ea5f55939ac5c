/**
 * The private link the guest reaches its volume server on. Its /30 sits in 169.254.0.0/16
 * (link-local, which Docker never allocates to networks and which routers never forward), is
 * derived from the container id so two VMs sharing a pod netns get different ones, and keeps clear
 * of 169.254.169.0/23 where clouds put their metadata services (169.254.169.254, 169.254.170.2),
 * which the guest must still reach through its default route.
 */
import { createHash } from 'node:crypto';
import type { VolumeLink } from '../contracts/volume-server.ts';

export const LINK_GUEST_NAME = 'runcvm-vol';
/** Locally administered, distinct from the spare NICs' 0a:52:43:56:4d:xx. */
export const LINK_MAC = '0a:52:43:56:39:70';
/** The registered 9P port; nothing else listens on the link's server address. */
export const LINK_PORT = 564;
const THIRD_OCTETS = 168; // 169.254.1.0 … 169.254.168.255: below the metadata range

export function linkFor(containerId: string): VolumeLink {
  const h = createHash('sha256').update(containerId).digest();
  const slot = h.readUInt32BE(0) % (THIRD_OCTETS * 64);
  const third = 1 + Math.floor(slot / 64);
  const base = (slot % 64) * 4;
  return {
    // Unique per container as the address is: a pod's netns may hold another VM's link.
    tap: `tap-vol-${slot.toString(16)}`,
    mac: LINK_MAC,
    guestName: LINK_GUEST_NAME,
    serverIp: `169.254.${third}.${base + 1}`,
    guestIp: `169.254.${third}.${base + 2}`,
    prefix: 30,
    port: LINK_PORT,
  };
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number.parseInt(o, 10), 0);
}

/** True when a.b.c.d/n and the link's /30 share an address. */
export function overlapsLink(link: VolumeLink, cidr: string): boolean {
  const [addr, len] = cidr === 'default' ? ['0.0.0.0', '0'] : cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const n = Math.min(Number.parseInt(len as string, 10), link.prefix);
  if (n === 0) return false; // a default route is less specific than the link: no clash
  const mask = n === 32 ? 0xffffffff : ~(0xffffffff >>> n) >>> 0;
  return (toInt(addr as string) & mask) >>> 0 === (toInt(link.serverIp) & mask) >>> 0;
}

/** The `ip` commands that make the server's end (pure). Up first: an address on a down link has no local route to bind to. */
export function linkCommands(link: VolumeLink): string[][] {
  return [
    ['tuntap', 'add', 'dev', link.tap, 'mode', 'tap'],
    ['link', 'set', link.tap, 'up'],
    ['addr', 'add', `${link.serverIp}/${link.prefix}`, 'dev', link.tap],
  ];
}

/**
 * The server address answers only on the tap: Linux would otherwise accept packets for it on any
 * interface of the netns (a pod sidecar sharing it, or a network connected while the launcher has
 * not yet handed its address to the guest).
 */
export function firewallArgs(link: VolumeLink): string[] {
  return ['-I', 'INPUT', '-d', `${link.serverIp}/32`, '!', '-i', link.tap, '-j', 'DROP'];
}

/** 9P mount options the guest uses for one export (docs/storage.md: why each one). */
export function mountOptions(link: VolumeLink, aname: string): string {
  // diod 1.0.24: msize is capped at 64 KiB; with -N the attach user must be given by name.
  // cache=none: no guest-side caching, so host-side edits are seen at once.
  return `trans=tcp,port=${link.port},version=9p2000.L,msize=65536,cache=none,access=user,uname=root,aname=${aname}`;
}
