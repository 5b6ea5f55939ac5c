/**
 * The container's PID 1: boots the VM for the workload, relays its stdio and signals, and
 * exits with its status (128+N for a signal death, as runc). If the VM dies first, it exits
 * non-zero with what the VMM and guest console said.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentLog } from '../agent-protocol/messages.ts';
import { HOST_LOG_IN_CONTAINER, HostLog } from '../common/host-log.ts';
import { describeError, exitStatusFor, GuestFailure } from '../contracts/errors.ts';
import {
  IMAGE_DISKS_DIR,
  type LaunchSpec,
  POD_SOCKET,
  POD_SOCKET_DIR,
  RUN_DIR,
  SPEC_PATH,
  WORKLOAD_ROOT,
  WRITTEN_BACK_MARKER,
} from '../contracts/launch-spec.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import { NetWatcher } from '../network/hotplug.ts';
import { runIp } from '../network/netns.ts';
import { mirrorRedirects } from '../network/port-redirects.ts';
import { type NetworkPlan, setUpNetwork } from '../network/setup.ts';
import type { RunningVm } from '../vmm/driver.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import { startVolumeServer, type VolumeServer } from '../volumes/server.ts';
import { AgentSession } from './agent-session.ts';
import { attachProcess, outcomeCode } from './attach.ts';
import { writeBootRecord } from './boot-record.ts';
import { prepareDisks } from './disks.ts';
import { EXEC_SOCKET, execIds, serveExec } from './exec-server.ts';
import { serveGuestDns } from './guest-dns.ts';
import { GuestLog, streamSink } from './guest-log.ts';
import { handOverToSupervisor } from './hand-over.ts';
import { HANDOVER_ENV, parseStderrPipes, STDERR_PIPES_ENV } from './handover.ts';
import { teeStderrToPodLog } from './pod-log.ts';
import { type PortForward, reserveRelayPort, servePortForward } from './port-forward.ts';
import { startingLine } from './start-plan.ts';
import { flush } from './stdio-relay.ts';
import { guestConfigFor, vmSpecFor } from './vm-from-spec.ts';

const WORKLOAD_ID = 1;
/** Boot budget: generous because TCG on a loaded 2-core host boots 3-10x slower than KVM. */
const HELLO_TIMEOUT_MS = { kvm: 30_000, tcg: 180_000 } as const;
const POWEROFF_TIMEOUT_MS = 10_000;
/** From CONFIG to STARTED the agent mounts the root and volumes and sets up the network: seconds
 * even under TCG. A guest that goes quiet there (seen once under heavy host load) must fail the
 * container with its console, not hang `docker start` for ever. */
const STARTED_TIMEOUT_MS = { kvm: 60_000, tcg: 300_000 } as const;

const LEVELS = ['error', 'warn', 'info', 'debug'];

/** Guest LOG lines: errors (everything with debug) to stderr through the bounded writer
 * (guest-log.ts), all of them to the host log (bounded there). */
function logLine(spec: LaunchSpec, log: GuestLog, hostLog?: HostLog): (l: AgentLog) => void {
  return (l) => {
    hostLog?.line('agent', `${LEVELS[l.level] ?? `level ${l.level}`}: ${l.line}`);
    if (spec.runtimeDebug || l.level === 0) log.line('runcvm-agent', l.line);
  };
}

/** The container's host log, when create bound its directory in (common/host-log.ts). */
function openHostLog(): HostLog | undefined {
  if (!existsSync(HOST_LOG_IN_CONTAINER)) return undefined;
  return new HostLog(HOST_LOG_IN_CONTAINER, Date.now, (m) => process.stderr.write(`runcvm: ${m}\n`));
}

function rejectOnVmExit(vm: RunningVm, what: string, vmm: string): Promise<never> {
  return vm.exited.then((e) => {
    throw new GuestFailure(`the VM stopped ${what} (${vmm} ${e.signal ?? `exit ${e.code}`})\n${vm.diagnostics()}`);
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      p,
      sleep(ms, undefined, { signal: ac.signal }).then(() => {
        throw new GuestFailure(`timed out after ${ms} ms ${what}`);
      }),
    ]);
  } finally {
    ac.abort();
  }
}

async function runWorkload(
  spec: LaunchSpec,
  vm: RunningVm,
  net: NetworkPlan,
  timing: Record<string, number>,
  hostLog?: HostLog,
): Promise<number> {
  const ac = new AbortController();
  const vmDied = rejectOnVmExit(vm, 'before the workload finished', spec.hypervisor);
  vmDied.catch(() => ac.abort());
  const channel = await Promise.race([vm.connectAgent(ac.signal), vmDied]);
  const guestLog = new GuestLog(streamSink(process.stderr));
  const session = new AgentSession(channel, logLine(spec, guestLog, hostLog));
  const sessionFailed = session.failed.then((e) => {
    throw new GuestFailure(`${e.message}\n${vm.diagnostics()}`);
  });
  const guard = <T>(p: Promise<T>) => Promise.race([p, vmDied, sessionFailed]);

  const hello = session.waitHello();
  const h = await guard(withTimeout(hello, HELLO_TIMEOUT_MS[spec.accel], 'waiting for the guest agent'));
  timing.agentUpMs = Date.now();
  hostLog?.line('launcher', `guest agent up: ${h.agent} (protocol ${h.version}), ${since(timing, 'agentUpMs')}`);
  // Which agent answered, for the operator comparing it with `runcvm version` (docs/troubleshooting.md).
  if (spec.runtimeDebug) process.stderr.write(`runcvm: guest agent: ${h.agent} (protocol ${h.version})\n`);
  if (net.guest.dnsRelay) serveGuestDns(session, guestLog);
  session.configure({ ...guestConfigFor(spec, net.guest), ...(vm.driveOrder ? { driveOrder: vm.driveOrder } : {}) });

  let execServer: Server | undefined;
  let podServer: Server | undefined;
  let portForward: PortForward | undefined;
  let stopWatching = () => {};
  let started!: () => void;
  const startedOrDone = new Promise<void>((resolve) => {
    started = resolve;
  });
  const attached = attachProcess(session, WORKLOAD_ID, spec.process, () => {
    started();
    timing.workloadStartedMs = Date.now();
    hostLog?.line('launcher', `workload started, ${since(timing, 'workloadStartedMs')}`);
    recordBoot(timing);
    const ids = execIds();
    serveExec(session, EXEC_SOCKET, ids).then(
      (s) => {
        execServer = s;
      },
      (e: Error) => process.stderr.write(`runcvm: docker exec is unavailable: ${describeError(e)}\n`),
    );
    // A pod VM (runtime/pod-vm.ts): the pod's containers start and exec through this socket.
    if (existsSync(POD_SOCKET_DIR))
      serveExec(session, POD_SOCKET, ids).then(
        (s) => {
          podServer = s;
        },
        (e: Error) => process.stderr.write(`runcvm: the pod's containers cannot start: ${describeError(e)}\n`),
      );
    // Only a CRI pod VM, and only in a namespace the VM owns: never a REDIRECT in a shared one,
    // least of all the host's (a hostNetwork pod), whose loopback belongs to others.
    if (spec.portForward && spec.network === 'own')
      void forwardPorts(spec).then((f) => {
        portForward = f;
      });
    if (spec.network === 'own') stopWatching = watchNetwork(spec, session, net);
  });
  attached.then(started, started);
  const startDeadline = withTimeout(
    startedOrDone,
    STARTED_TIMEOUT_MS[spec.accel],
    'waiting for the guest to start the workload',
  ).then(
    () => new Promise<never>(() => {}),
    (e: Error) => {
      throw new GuestFailure(`${e.message}\n${vm.diagnostics()}`);
    },
  );
  const result = await guard(Promise.race([attached, startDeadline]));
  timing.workloadExitMs = Date.now();
  hostLog?.line(
    'launcher',
    result.kind === 'error'
      ? `workload did not start: ${result.error.message}`
      : `workload ended: status ${outcomeCode(result)}`,
  );
  stopWatching();
  execServer?.close();
  podServer?.close();
  portForward?.close();
  if (result.kind === 'error') throw new GuestFailure(result.error.message, { exitStatus: outcomeCode(result) });
  // The agent wrote the image root's changes back before this EXIT: the runtime's delete need
  // not start a write-back VM (runtime/writeback.ts).
  if (spec.rootImage && !result.status.writebackFailed) markWrittenBack();
  session.shutdown();
  const off = await Promise.race([vm.exited.then(() => true), sleep(POWEROFF_TIMEOUT_MS).then(() => false)]);
  if (!off) await vm.kill();
  return outcomeCode(result);
}

/** A pod VM: CRI PortForward streams, which containerd dials in this netns, reach the guest. */
async function forwardPorts(spec: LaunchSpec): Promise<PortForward | undefined> {
  const [iptables, ...applet] = spec.iptables ?? [];
  const problem = (m: string) => process.stderr.write(`runcvm: ${m}\n`);
  if (!iptables) {
    problem('PortForward into this pod is unavailable: runcvm install found no iptables on this host');
    return undefined;
  }
  try {
    return await servePortForward({
      iptables: (args) =>
        execFileSync(iptables, [...applet, '-w', '5', ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      problem,
    });
  } catch (e) {
    problem(`PortForward into this pod is unavailable: ${describeError(e)}`);
    return undefined;
  }
}

/** Under runcvm-supervisor, a pod VM's PortForward: the rule now, the relay the supervisor's. */
async function relayPortFor(spec: LaunchSpec): Promise<{ relayPort?: number }> {
  // As forwardPorts: only a CRI pod VM, and only in a namespace the VM owns.
  if (spec.hypervisor !== 'qemu' || !spec.portForward || spec.network !== 'own') return {};
  const [iptables, ...applet] = spec.iptables ?? [];
  if (!iptables) {
    process.stderr.write(
      'runcvm: PortForward into this pod is unavailable: runcvm install found no iptables on this host\n',
    );
    return {};
  }
  try {
    return {
      relayPort: await reserveRelayPort((args) =>
        execFileSync(iptables, [...applet, '-w', '5', ...args], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      ),
    };
  } catch (e) {
    process.stderr.write(`runcvm: PortForward into this pod is unavailable: ${describeError(e)}\n`);
    return {};
  }
}

function markWrittenBack(): void {
  try {
    writeFileSync(`${IMAGE_DISKS_DIR}/${WRITTEN_BACK_MARKER}`, '', { flag: 'w', mode: 0o600 });
  } catch (e) {
    // Without it the runtime's delete writes back again: slower, never wrong.
    process.stderr.write(`runcvm: marking the write-back done: ${describeError(e)}\n`);
  }
}

const NET_POLL_MS = 1000;

/** Follows docker network connect/disconnect on the running container (hotplug.ts). */
function watchNetwork(spec: LaunchSpec, session: AgentSession, net: NetworkPlan): () => void {
  const watcher = new NetWatcher(new Set(net.guest.ifaces.map((i) => i.name)), net.guest.spares.length, runIp, {
    attach: (spare, iface) => session.netAttach(spare.mac, iface),
    detach: (spare, name) => session.netDetach(spare?.mac ?? null, name),
    problem: (message) => process.stderr.write(`runcvm: ${message}\n`),
  });
  const [iptables, ...applet] = spec.iptables ?? [];
  const runIptables = (args: string[]) =>
    execFileSync(iptables as string, [...applet, '-w', '2', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  let iptablesBroken = iptables === undefined;
  const timer = setInterval(() => {
    try {
      watcher.sync(runIp(['-json', 'addr', 'show']));
    } catch (e) {
      process.stderr.write(`runcvm: watching the container's network: ${describeError(e)}\n`);
    }
    if (iptablesBroken) return;
    try {
      mirrorRedirects(runIptables);
    } catch (e) {
      // No iptables on this host means no Swarm port mapping to mirror either: say it once.
      iptablesBroken = true;
      if (spec.runtimeDebug) process.stderr.write(`runcvm: port redirects: ${describeError(e)}\n`);
    }
  }, NET_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Docker's resolv.conf for the container, as the guest will see it. */
function readResolvConf(): string {
  try {
    return readFileSync(`${WORKLOAD_ROOT}/etc/resolv.conf`, 'utf8');
  } catch {
    return '';
  }
}

/** The boot phases for `runcvm metrics` (boot-record.ts); without it metrics only lack the boot duration. */
function recordBoot(t: Record<string, number>): void {
  try {
    writeBootRecord({
      launcherStartMs: t.launcherStartMs ?? 0,
      vmmSpawnMs: t.vmmSpawnMs ?? 0,
      agentUpMs: t.agentUpMs ?? 0,
      workloadStartedMs: t.workloadStartedMs ?? 0,
    });
  } catch (e) {
    process.stderr.write(`runcvm: recording the boot phases: ${describeError(e)}\n`);
  }
}

/** "N ms after the launcher started". */
function since(timing: Record<string, number>, key: string): string {
  return `${(timing[key] ?? 0) - (timing.launcherStartMs ?? 0)} ms after the launcher started`;
}

function printTiming(spec: LaunchSpec, timing: Record<string, number>): void {
  if (!spec.printTiming) return;
  process.stderr.write(`runcvm-timing ${JSON.stringify({ ...spec.timing, ...timing })}\n`);
}

export async function runLauncher(): Promise<number> {
  // launcherNodeMs: when this Node process started (its boot and the bundle's load end at
  // launcherStartMs), for the benchmark's phase table.
  const timing: Record<string, number> = {
    launcherNodeMs: Math.round(performance.timeOrigin),
    launcherStartMs: Date.now(),
  };
  const podLog = teeStderrToPodLog();
  let code: number;
  let vm: RunningVm | undefined;
  let spec: LaunchSpec | undefined;
  let volumes: VolumeServer | undefined;
  const hostLog = openHostLog();
  try {
    spec = readLaunchSpec(SPEC_PATH);
    hostLog?.line('launcher', startingLine(spec));
    mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
    const disks = await prepareDisks(spec.disks ?? [], WORKLOAD_ROOT);
    const net = setUpNetwork(spec.network, readResolvConf());
    timing.networkReadyMs = Date.now();
    // Under runcvm-supervisor: its pipes, so the VMM's stderr outlives this process.
    const stderrPipes = parseStderrPipes(process.env[STDERR_PIPES_ENV]);
    if (spec.volumes)
      volumes = await startVolumeServer(spec.volumes, net.guest, {
        iptables: spec.iptables,
        debug: spec.runtimeDebug,
        output: (d) => hostLog?.output('diod', d.toString()),
        // diod outlives this process under the supervisor: its stderr must too.
        ...(stderrPipes && process.env[HANDOVER_ENV] ? { stderrFd: stderrPipes.fileServer.write } : {}),
      });
    vm = await DRIVERS[spec.hypervisor].start({
      ...vmSpecFor(spec, RUN_DIR, disks, [...net.nics, ...(volumes ? [volumes.nic] : [])]),
      output: (source, d) => hostLog?.output(source, d.toString()),
      ...(stderrPipes ? { stderrPipes } : {}),
    });
    const server = volumes;
    if (server) void vm.exited.then(() => server.stop());
    timing.vmmSpawnMs = Date.now();
    hostLog?.line('launcher', `${spec.hypervisor} started, ${since(timing, 'vmmSpawnMs')}`);
    // Under runcvm-supervisor (create chose it, runtime/data-plane.ts): the data plane is its job
    // from here on.
    const handover = process.env[HANDOVER_ENV];
    // What virtiofsd and QEMU printed so far is read into the host log before their pipes go.
    if (handover) await new Promise((resolve) => setImmediate(resolve));
    if (
      handover &&
      handOverToSupervisor(handover, spec, vm, net, timing, {
        ...(volumes ? { volumes } : {}),
        podLog,
        ...(await relayPortFor(spec)),
      })
    ) {
      hostLog?.line('launcher', 'handed the data plane over to runcvm-supervisor');
      return 0;
    }
    code = await runWorkload(spec, vm, net, timing, hostLog);
  } catch (e) {
    process.stderr.write(`runcvm: ${describeError(e)}\n`);
    hostLog?.line('launcher', `failed: ${describeError(e)}`);
    code = exitStatusFor(e);
    await vm?.kill();
    if (volumes?.log()) process.stderr.write(`runcvm: volume server log:\n${volumes.log()}\n`);
  }
  // The VM is gone (powered off or killed): nothing can write through the server any more.
  volumes?.stop();
  timing.launcherEndMs = Date.now();
  hostLog?.line('launcher', `exit status ${code}`);
  hostLog?.close();
  if (spec) printTiming(spec, timing);
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  podLog.stop();
  return code;
}
