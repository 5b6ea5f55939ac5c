/** `runcvm ps`: the runcvm VMs running on this host (install/running-vms.ts), a table or --json. */
import { parseArgs } from 'node:util';
import { type RunningVm, runningVms } from '../install/running-vms.ts';

function duration(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return s < 172_800 ? `${Math.floor(s / 3600)}h` : `${Math.floor(s / 86_400)}d`;
}

export function formatPs(vms: readonly RunningVm[]): string {
  const rows = [['CONTAINER', 'NAME', 'BACKEND', 'ACCEL', 'VCPUS', 'MEMORY', 'UPTIME', 'HOST PIDS']];
  for (const v of vms) {
    rows.push([
      v.containerId.slice(0, 12),
      (v.name ?? '-') + (v.writeback ? ' (write-back)' : ''),
      v.hypervisor,
      v.accel,
      String(v.cpus),
      `${v.memoryMiB}M`,
      duration(v.uptimeSeconds),
      v.processes.map((p) => `${p.pid}(${p.name})`).join(' '),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ')).join('\n')}\n`;
}

export function psCommand(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } } });
  const vms = runningVms();
  process.stdout.write(values.json ? `${JSON.stringify(vms, null, 2)}\n` : formatPs(vms));
  return 0;
}
