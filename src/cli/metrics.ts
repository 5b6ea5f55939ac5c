/**
 * `runcvm metrics`: Prometheus text format (exposition format 0.0.4) for every running runcvm
 * VM, from the host side (install/running-vms.ts): what the VM was given and what its host
 * processes use. Labels come from the launch spec and Docker's name, so they are escaped.
 * `--listen ADDR` serves the same text on http://ADDR/metrics.
 */
import { createServer, type Server } from 'node:http';
import type { RunningVm } from '../install/running-vms.ts';

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

function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function formatMetrics(vms: readonly RunningVm[]): string {
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

export function serveMetrics(addr: string, collect: () => string): Promise<Server> {
  const { host, port } = parseListen(addr);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    try {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(collect());
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`runcvm metrics: ${(e as Error).message}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`--listen ${addr}: ${e.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}
