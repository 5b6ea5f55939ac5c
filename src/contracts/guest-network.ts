/** The container's network as the guest must reproduce it (one IPv4 address per interface, as Docker gives). */

export interface NetIface {
  name: string;
  mac: string;
  mtu: number;
  /** IPv4 address and prefix length, if the interface has one. */
  ipv4?: { address: string; prefix: number };
}

export interface NetRoute {
  /** `default` or `a.b.c.d/n`. */
  dst: string;
  gateway?: string;
  dev: string;
}

export interface GuestNetwork {
  ifaces: NetIface[];
  routes: NetRoute[];
  /** Relay the guest's DNS queries to 127.0.0.11 in the container's netns (Docker's embedded DNS). */
  dnsRelay: boolean;
  /** NICs kept down for `docker network connect` on the running container (hotplug.ts). */
  spares: Array<{ name: string; mac: string }>;
}
