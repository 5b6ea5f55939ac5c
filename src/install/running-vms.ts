/**
 * The runcvm VMs running on this host, found from /proc: every container's launcher process
 * (`runcvm-supervisor node … <prefix>/lib/runcvm.mjs launcher`, the default data plane, or the Node
 * launcher itself with RUNCVM_DATA_PLANE=node), its launch spec as the container sees it
 * (/proc/<pid>/root/.runcvm/spec.json, written by `create`), and its descendants (VMM, file
 * servers). For `runcvm ps`. Reads only; a process that ends while being read is skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VmProcess {
  pid: number;
  name: string;
}

export interface RunningVm {
  containerId: string;
  /** Docker's container name, when Docker's store has it. */
  name?: string;
  /** The install the VM runs from: the host prefix create recorded ('?' for a VM of an older runcvm). */
  prefix: string;
  /** true for the VM the runtime's delete runs to write an image root back. */
  writeback: boolean;
  hypervisor: string;
  accel: string;
  cpus: number;
  memoryMiB: number;
  uptimeSeconds: number;
  launcherPid: number;
  processes: VmProcess[];
  /** User + system CPU time of all the VM's host processes (vCPU threads included). */
  hostCpuSeconds: number;
  /** Resident memory of all the VM's host processes (guest RAM QEMU has touched included). */
  hostRssBytes: number;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  startTicks: number;
  cpuTicks: number;
  rssPages: number;
  argv: string[];
}

const CLOCK_TICKS = 100; // USER_HZ on Linux x86_64: /proc/<pid>/stat's time unit.
const PAGE_BYTES = 4096;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** /proc/<pid>/stat: the comm field may hold spaces and parentheses, so fields count from the last ')'. */
export function parseStat(
  stat: string,
): { comm: string; ppid: number; startTicks: number; cpuTicks: number; rssPages: number } | undefined {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = stat.slice(close + 2).split(' ');
  const ppid = Number(rest[1]);
  const startTicks = Number(rest[19]);
  if (!Number.isFinite(ppid) || !Number.isFinite(startTicks)) return undefined;
  // Fields 14 and 15 (utime, stime) and 24 (rss); rest[0] is field 3.
  const cpuTicks = Number(rest[11] ?? 0) + Number(rest[12] ?? 0);
  const rssPages = Number(rest[21] ?? 0);
  return {
    comm: stat.slice(open + 1, close),
    ppid,
    startTicks,
    cpuTicks: Number.isFinite(cpuTicks) ? cpuTicks : 0,
    rssPages: Number.isFinite(rssPages) ? rssPages : 0,
  };
}

function processes(proc: string): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const d of readdirSync(proc)) {
    if (!/^\d+$/.test(d)) continue;
    const stat = read(join(proc, d, 'stat'));
    const s = stat === undefined ? undefined : parseStat(stat);
    if (!s) continue;
    out.push({ pid: Number(d), ...s, argv: (read(join(proc, d, 'cmdline')) ?? '').split('\0').filter(Boolean) });
  }
  return out;
}

/** The index of the bundle in a launcher's argv (`node [node flags] <prefix>/lib/runcvm.mjs launcher`), or -1. */
export function launcherBundleIndex(argv: readonly string[]): number {
  // runcvm-init, the container's PID 1, carries the launcher's command line after its own name.
  if (/(^|\/)runcvm-init$/.test(argv[0] ?? '')) return -1;
  const i = argv.findIndex((a) => /\/lib\/runcvm\.mjs$/.test(a));
  return i > 0 && argv[i + 1] === 'launcher' ? i : -1;
}

function descendants(root: number, all: readonly ProcInfo[]): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcInfo[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

function dockerName(containerId: string, dockerRoot: string): string | undefined {
  if (!/^[0-9a-f]{64}$/.test(containerId)) return undefined;
  const text = read(join(dockerRoot, 'containers', containerId, 'config.v2.json'));
  try {
    const name = text === undefined ? undefined : (JSON.parse(text) as { Name?: unknown }).Name;
    return typeof name === 'string' ? name.replace(/^\//, '') : undefined;
  } catch {
    return undefined;
  }
}

export function runningVms(proc = '/proc', dockerRoot = '/var/lib/docker'): RunningVm[] {
  const all = processes(proc);
  const uptime = Number.parseFloat(read(join(proc, 'uptime')) ?? '0');
  const vms: RunningVm[] = [];
  for (const p of all) {
    const bundle = launcherBundleIndex(p.argv);
    if (bundle < 0) continue;
    // runcvm-supervisor carries the launcher's command line too (whether it starts the VM from
    // create's start plan or runs that launcher as its child while the VM starts): the container
    // is the outer one.
    const parent = all.find((q) => q.pid === p.ppid);
    if (parent && launcherBundleIndex(parent.argv) >= 0) continue;
    const text = read(join(proc, String(p.pid), 'root', '.runcvm', 'spec.json'));
    if (text === undefined) continue;
    let spec: Record<string, unknown>;
    try {
      spec = JSON.parse(text) as Record<string, unknown>;
    } catch {
      continue;
    }
    const containerId = typeof spec.containerId === 'string' ? spec.containerId : '?';
    const mine = [p, ...descendants(p.pid, all)];
    vms.push({
      containerId,
      name: dockerName(containerId, dockerRoot),
      // The launcher's own argv names the prefix as the container sees it (always /opt/runcvm).
      prefix: typeof spec.hostPrefix === 'string' ? spec.hostPrefix : '?',
      writeback: p.argv[bundle + 2] === '--writeback',
      hypervisor: String(spec.hypervisor ?? '?'),
      accel: String(spec.accel ?? '?'),
      cpus: Number(spec.cpus ?? 0),
      memoryMiB: Number(spec.memoryMiB ?? 0),
      uptimeSeconds: Math.max(0, Math.round(uptime - p.startTicks / CLOCK_TICKS)),
      launcherPid: p.pid,
      // 'launcher' names the container's own process by its role, Node or runcvm-supervisor.
      processes: mine.map((d) => ({ pid: d.pid, name: d === p ? 'launcher' : d.comm })),
      hostCpuSeconds: mine.reduce((t, d) => t + d.cpuTicks, 0) / CLOCK_TICKS,
      hostRssBytes: mine.reduce((t, d) => t + d.rssPages, 0) * PAGE_BYTES,
    });
  }
  return vms.sort((a, b) => a.uptimeSeconds - b.uptimeSeconds);
}
