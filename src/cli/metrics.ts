/**
 * `runcvm metrics`: Prometheus text format (exposition format 0.0.4) for every running runcvm
 * VM: from the host side (install/running-vms.ts) what the VM was given and what its host
 * processes use; from the VMM and the launcher (guest-metrics.ts) the guest's memory, the
 * balloon, VM exits, the vCPUs' CPU time and the boot duration, each only where known. Labels
 * come from the launch spec and Docker's name, so they are escaped.
 * `--listen ADDR` serves the same text on http://ADDR/metrics.
 */
import { createServer, type Server } from 'node:http';
import type { RunningVm } from '../install/running-vms.ts';
import type { GuestFigures } from './guest-metrics.ts';

interface Metric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value: (v: RunningVm) => number;
}

export const METRICS: readonly Metric[] = [
  { name: 'runcvm_vm_vcpus', type: 'gauge', help: 'vCPUs the VM booted with', value: (v) => v.cpus },
  {
    name: 'runcvm_vm_memory_bytes',
    type: 'gauge',
    help: 'guest RAM the VM booted with',
    value: (v) => v.memoryMiB * 1024 * 1024,
  },
  {
    name: 'runcvm_vm_uptime_seconds',
    type: 'gauge',
    help: "seconds since the VM's launcher started",
    value: (v) => v.uptimeSeconds,
  },
  {
    name: 'runcvm_vm_host_cpu_seconds_total',
    type: 'counter',
    help: "user+system CPU time of the VM's host processes (launcher, VMM with its vCPU threads, file servers)",
    value: (v) => v.hostCpuSeconds,
  },
  {
    name: 'runcvm_vm_host_rss_bytes',
    type: 'gauge',
    help: "resident memory of the VM's host processes (guest RAM the VMM has touched included)",
    value: (v) => v.hostRssBytes,
  },
  {
    name: 'runcvm_vm_host_processes',
    type: 'gauge',
    help: 'host processes of the VM',
    value: (v) => v.processes.length,
  },
];

interface GuestMetric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  value: (g: GuestFigures, v: RunningVm) => number | undefined;
}

const MIB = 1024 * 1024;

/** Guest figures: a VM whose figure is unknown has no sample (QMP busy, TCG's exits, an old VM). */
export const GUEST_METRICS: readonly GuestMetric[] = [
  {
    name: 'runcvm_vm_boot_seconds',
    type: 'gauge',
    help: "from the launcher's start to the workload's start in the guest (VMM start, kernel boot, agent setup)",
    value: (g) => g.bootSeconds,
  },
  {
    name: 'runcvm_vm_guest_memory_total_bytes',
    type: 'gauge',
    help: 'memory the guest kernel manages (virtio-balloon statistics)',
    value: (g) => g.memory?.totalBytes,
  },
  {
    name: 'runcvm_vm_guest_memory_free_bytes',
    type: 'gauge',
    help: 'memory the guest has not used at all',
    value: (g) => g.memory?.freeBytes,
  },
  {
    name: 'runcvm_vm_guest_memory_available_bytes',
    type: 'gauge',
    help: 'memory the guest could give to new work (its MemAvailable)',
    value: (g) => g.memory?.availableBytes,
  },
  {
    name: 'runcvm_vm_guest_memory_cached_bytes',
    type: 'gauge',
    help: "the guest's page cache",
    value: (g) => g.memory?.cachedBytes,
  },
  {
    name: 'runcvm_vm_guest_memory_used_bytes',
    type: 'gauge',
    help: 'total - free - cached, as free(1) counts used memory',
    value: (g) => {
      const m = g.memory;
      if (m?.totalBytes === undefined || m.freeBytes === undefined) return undefined;
      return Math.max(0, m.totalBytes - m.freeBytes - (m.cachedBytes ?? 0));
    },
  },
  {
    name: 'runcvm_vm_guest_major_faults_total',
    type: 'counter',
    help: 'major page faults in the guest',
    value: (g) => g.memory?.majorFaults,
  },
  {
    name: 'runcvm_vm_guest_stats_age_seconds',
    type: 'gauge',
    help: 'seconds since the guest last reported its memory figures (every 5 s while it runs)',
    value: (g) => (g.memory?.lastUpdate ? Math.max(0, Math.round(Date.now() / 1000 - g.memory.lastUpdate)) : undefined),
  },
  {
    name: 'runcvm_vm_balloon_bytes',
    type: 'gauge',
    help: "guest RAM the balloon holds back (boot memory minus the balloon's actual size; docker update --memory)",
    value: (g, v) =>
      g.balloonActualBytes === undefined ? undefined : Math.max(0, v.memoryMiB * MIB - g.balloonActualBytes),
  },
  {
    name: 'runcvm_vm_exits_total',
    type: 'counter',
    help: 'VM exits of all vCPUs (KVM only: TCG runs the guest in QEMU itself and has none)',
    value: (g) => g.exits,
  },
];

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function formatMetrics(vms: readonly RunningVm[], guest: ReadonlyMap<string, GuestFigures> = new Map()): string {
  const out: string[] = [
    '# HELP runcvm_vms runcvm VMs running on this host',
    '# TYPE runcvm_vms gauge',
    `runcvm_vms ${vms.length}`,
  ];
  const labels = (v: RunningVm) => `container="${label(v.containerId)}"`;
  out.push('# HELP runcvm_vm_info a running VM: its name, backend and accelerator', '# TYPE runcvm_vm_info gauge');
  for (const v of vms) {
    out.push(
      `runcvm_vm_info{${labels(v)},name="${label(v.name ?? '')}",backend="${label(v.hypervisor)}",accel="${label(v.accel)}"} 1`,
    );
  }
  for (const m of METRICS) {
    out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const v of vms) out.push(`${m.name}{${labels(v)}} ${m.value(v)}`);
  }
  out.push(
    '# HELP runcvm_vm_vcpu_seconds_total host CPU time of each vCPU thread: the time spent running the guest',
    '# TYPE runcvm_vm_vcpu_seconds_total counter',
  );
  for (const v of vms)
    for (const [i, s] of (guest.get(v.containerId)?.vcpuSeconds ?? []).entries())
      out.push(`runcvm_vm_vcpu_seconds_total{${labels(v)},vcpu="${i}"} ${s}`);
  for (const m of GUEST_METRICS) {
    out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
    for (const v of vms) {
      const g = guest.get(v.containerId);
      const value = g && m.value(g, v);
      if (value !== undefined) out.push(`${m.name}{${labels(v)}} ${value}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** host:port, [v6]:port or :port; the port is required (0: any free port, said on stderr). */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || !(port >= 0 && port < 65536))
    throw new Error(`--listen: invalid address "${addr}" (allowed: HOST:PORT, [IPV6]:PORT or :PORT)`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export function serveMetrics(addr: string, collect: () => string | Promise<string>): Promise<Server> {
  const { host, port } = parseListen(addr);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    Promise.resolve()
      .then(collect)
      .then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`runcvm metrics: ${e.message}\n`),
      );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`--listen ${addr}: ${e.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}
