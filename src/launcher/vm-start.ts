/**
 * The launcher's pre-VM work, run by `create` (through the CLI's StartVm) for a VM start without the Node launcher (runtime/data-plane.ts, vmStart
 * 'supervisor'): once `runc create` made the launcher's sandbox, its network namespace is what
 * the VM gets (Docker's prestart hook configured it during `runc create`; Podman's and a CRI
 * pod's existed before, runc joined them). From the host, create hands the interfaces to taps in
 * that namespace (network/setup.ts, through nsenter), computes the start plan
 * (launcher/start-plan.ts) and writes it, with the network watch's first state, into the
 * sandbox's private run dir. runcvm-supervisor then spawns virtiofsd and QEMU from it. Anything
 * that fails undoes what it made and fails the create, naming the container and the step.
 */
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { describeError, RuncvmError } from '../contracts/errors.ts';
import { RUN_DIR } from '../contracts/launch-spec.ts';
import type { VmStartInputs } from '../contracts/vm-start.ts';
import { type IpRunner, ipInNetnsOf } from '../network/netns.ts';
import { setUpNetwork } from '../network/setup.ts';
import { NET_SYNC_FLAG, saveNetWatch } from './net-sync.ts';
import { encodeStartPlan, planStart, START_PLAN_FILE } from './start-plan.ts';

/** The network watch's state file in the run dir (launcher/net-sync.ts, NET_WATCH_STATE). */
const NET_WATCH_FILE = 'net-watch.json';

/** Tests: `ip` in the sandbox's namespace, the host path of its run dir, the clock. */
export interface VmStartHooks {
  ip?: IpRunner;
  runDir?: string;
  now?: () => number;
}

/** The launcher's argv without runcvm-init and runcvm-supervisor, with `--net-sync` (net-sync.ts). */
export function netSyncArgv(launcherArgs: readonly string[]): string[] {
  const at = launcherArgs.findIndex((a) => a.endsWith('/runcvm-supervisor'));
  const rest = launcherArgs.slice(at + 1);
  if (at < 0 || rest.at(-1) !== 'launcher')
    throw new Error(`the launcher's command line has no runcvm-supervisor … launcher: ${launcherArgs.join(' ')}`);
  return [...rest, NET_SYNC_FLAG];
}

/**
 * An IpRunner that remembers whether it changed anything (every command but the JSON reads), so
 * a failure undoes the bridges and taps only when this start made some.
 */
function tracking(ip: IpRunner): { ip: IpRunner; changed: () => boolean } {
  let changed = false;
  const run = ((args: string[]) => {
    if (!args[0]?.startsWith('-')) changed = true;
    return ip(args);
  }) as IpRunner;
  // Reads change nothing: a query is passed through as it is.
  if (ip.query) run.query = ip.query;
  const batch = ip.batch;
  if (batch)
    run.batch = (cmds) => {
      changed = true;
      batch(cmds);
    };
  return { ip: run, changed: () => changed };
}

/** Removes the br-* and tap-* links of the namespace: the handoff's (network/handoff.ts, hotplug.ts). */
function undoHandoff(ip: IpRunner): string | undefined {
  try {
    const links = JSON.parse(ip(['-json', 'link', 'show'])) as { ifname?: string }[];
    for (const l of links)
      if (l.ifname && /^(br|tap)-/.test(l.ifname)) {
        try {
          ip(['link', 'del', l.ifname]);
        } catch {
          // Gone with its bridge already; the next one is still worth trying.
        }
      }
    return undefined;
  } catch (e) {
    return describeError(e);
  }
}

/** The sandbox's run dir on the host: a fresh tmpfs of runc's (rewrite.ts mounts /run), no path of the image's. */
function makeRunDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.uid !== 0) throw new Error(`${dir} is not a directory of root's`);
}

export function prepareVmStart(i: VmStartInputs, hooks: VmStartHooks = {}): void {
  const now = hooks.now ?? Date.now;
  const runDir = hooks.runDir ?? `/proc/${i.pid}/root${RUN_DIR}`;
  const t = tracking(hooks.ip ?? ipInNetnsOf(i.pid));
  const made: string[] = [];
  let step = 'network handoff';
  try {
    const timing: Record<string, number> = { runcCreatedMs: now() };
    const net = setUpNetwork(i.launch.network, i.resolvConf, t.ip);
    timing.networkReadyMs = now();
    step = 'start plan';
    const plan = planStart({
      spec: i.launch,
      net,
      netSync: netSyncArgv(i.launcherArgs),
      podSocket: i.podSocket,
      timing,
    });
    step = `writing the start plan into ${runDir}`;
    makeRunDir(runDir);
    if (i.launch.network === 'own') {
      const watch = join(runDir, NET_WATCH_FILE);
      made.push(watch);
      saveNetWatch(
        net.guest.ifaces.map((x) => x.name),
        net.guest.spares.length,
        watch,
      );
    }
    const file = join(runDir, START_PLAN_FILE);
    made.push(file);
    timing.startPlanMs = now();
    writeFileAtomic(file, encodeStartPlan(plan), 0o600);
  } catch (e) {
    for (const f of made) rmSync(f, { force: true });
    const undo = t.changed() ? undoHandoff(hooks.ip ?? ipInNetnsOf(i.pid)) : undefined;
    throw new RuncvmError('internal', `starting the VM without the launcher: ${step}`, {
      cause: e,
      context: { containerId: i.containerId, step: undo ? `${step}; removing its taps failed: ${undo}` : step },
    });
  }
}
