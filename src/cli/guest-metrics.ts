/**
 * What `runcvm metrics` learns about a VM beyond its host processes: the guest's own memory
 * figures (QEMU's virtio-balloon statistics, one report asked for on demand:
 * vmm/qemu/balloon-stats.ts), the balloon's size (`query-balloon`), VM exits (`query-stats`, which only
 * KVM provides: under TCG the guest's code is translated and run by QEMU itself, so there is no
 * exit to count), the CPU time of each vCPU thread, and the boot phases the launcher recorded.
 * QMP is reached through /proc/<launcher>/root (host root) without following any link the sandbox
 * may have planted (common/open-in-root.ts); QEMU takes one QMP client at a time,
 * so a VM whose QMP is busy (docker update) lacks its QMP figures for this scrape. Everything read
 * comes from the VM's side: numbers are taken only when finite and in range.
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openInRoot, readFileInRoot, socketPathOf } from '../common/open-in-root.ts';
import { RUN_DIR } from '../contracts/launch-spec.ts';
import { parseStat, type RunningVm } from '../install/running-vms.ts';
import { BOOT_RECORD, BOOT_RECORD_MAX, parseBootRecord } from '../launcher/boot-record.ts';
import { qemuPaths } from '../vmm/qemu/argv.ts';
import { figure, freshGuestStats, type GuestMemory } from '../vmm/qemu/balloon-stats.ts';
import { Qmp } from '../vmm/qemu/qmp.ts';

const QMP_TIMEOUT_MS = 2000;
const CLOCK_TICKS = 100;

export interface GuestFigures {
  bootSeconds?: number;
  /** Host CPU seconds of each vCPU thread (the time spent running the guest), vCPU 0 first. */
  vcpuSeconds?: number[];
  memory?: GuestMemory;
  balloonActualBytes?: number;
  exits?: number;
}

/** query-stats (target vcpu): the "exits" counters of the kvm provider, summed over vCPUs. */
export function parseExits(ret: unknown): number | undefined {
  if (!Array.isArray(ret)) return undefined;
  let sum: number | undefined;
  for (const r of ret as { provider?: unknown; stats?: unknown }[]) {
    if (r?.provider !== 'kvm' || !Array.isArray(r.stats)) continue;
    for (const s of r.stats as { name?: unknown; value?: unknown }[]) {
      const v = s?.name === 'exits' ? figure(s.value) : undefined;
      if (v !== undefined) sum = (sum ?? 0) + v;
    }
  }
  return sum;
}

/** QEMU names its vCPU threads "CPU <n>/<accel>" (-name debug-threads=on). */
export function vcpuSeconds(proc: string, qemuPid: number): number[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(join(proc, String(qemuPid), 'task'));
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      const s = parseStat(readFileSync(join(proc, String(qemuPid), 'task', tid, 'stat'), 'utf8'));
      const n = /^CPU (\d{1,3})\//.exec(s?.comm ?? '')?.[1];
      if (s && n !== undefined) out[Number(n)] = s.cpuTicks / CLOCK_TICKS;
    } catch {
      // The thread ended while being read.
    }
  }
  return out.length ? Array.from(out, (v) => v ?? 0) : undefined;
}

function bootSeconds(proc: string, launcherPid: number): number | undefined {
  try {
    const text = readFileInRoot(join(proc, String(launcherPid), 'root'), BOOT_RECORD, BOOT_RECORD_MAX + 1);
    const r = parseBootRecord(text);
    return r && (r.workloadStartedMs - r.launcherStartMs) / 1000;
  } catch {
    return undefined;
  }
}

async function qmpFigures(proc: string, vm: RunningVm): Promise<Partial<GuestFigures>> {
  let qmp: Qmp;
  let fd: number | undefined;
  try {
    // The sandbox can write its /run: no link there is followed (open-in-root.ts).
    fd = openInRoot(join(proc, String(vm.launcherPid), 'root'), qemuPaths(RUN_DIR).qmpSocket, 'socket');
    qmp = await Qmp.connect(socketPathOf(fd), QMP_TIMEOUT_MS);
  } catch {
    return {};
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const out: Partial<GuestFigures> = {};
  try {
    const ask = (cmd: string, args?: Record<string, unknown>) => qmp.execute(cmd, args).catch(() => undefined);
    const memory = await freshGuestStats(qmp).catch(() => undefined);
    if (memory) out.memory = memory;
    const actual = figure(((await ask('query-balloon')) as { actual?: unknown } | undefined)?.actual);
    if (actual !== undefined) out.balloonActualBytes = actual;
    const exits = parseExits(await ask('query-stats', { target: 'vcpu' }));
    if (exits !== undefined) out.exits = exits;
  } finally {
    qmp.close();
  }
  return out;
}

export async function guestFigures(vm: RunningVm, proc = '/proc'): Promise<GuestFigures> {
  const qemu = vm.processes.find((p) => p.name.startsWith('qemu'));
  const fromQmp = vm.hypervisor === 'qemu' && qemu ? await qmpFigures(proc, vm) : {};
  const vcpus = qemu ? vcpuSeconds(proc, qemu.pid) : undefined;
  const boot = bootSeconds(proc, vm.launcherPid);
  return { ...fromQmp, ...(vcpus ? { vcpuSeconds: vcpus } : {}), ...(boot !== undefined ? { bootSeconds: boot } : {}) };
}
