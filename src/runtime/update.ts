/**
 * `runcvm-runtime update` (docker update): runc changes the container's cgroup as always, with
 * the memory limit kept at guest memory + VMM overhead so the host never OOM-kills the VMM, and
 * the running VM follows: its memory shrinks or grows back through the balloon (the launcher
 * owns the VM; this process reaches its QMP socket through a relay run inside the container's
 * sandbox, never by a path in the container's root: sandbox-relay.ts), and vCPU threads are
 * re-pinned after a --cpuset-cpus change. Ordering keeps the host limit above
 * what the VM holds at every moment: shrink the guest before the cgroup, raise the cgroup
 * before the guest grows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GuestFailure, OptionError } from '../contracts/errors.ts';
import type { LaunchSpec } from '../contracts/launch-spec.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import type { OciResources } from '../oci/spec.ts';
import { resizeGuest } from '../vmm/balloon.ts';
import { pinThreads } from '../vmm/cpu-pinning.ts';
import type { VmControl } from '../vmm/driver.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import type { RuntimeArgs, UpdateFlags } from './cli-args.ts';
import type { HostConfig } from './host-config.ts';
import { hostResources, podUpdateOf, sendPodUpdate } from './pod-update.ts';
import { type PodContainerMarker, readPodContainerMarker } from './pod-vm.ts';
import { rootFlags, runcState, runRunc } from './runc.ts';
import { sandboxRelay } from './sandbox-relay.ts';
import { parseRam, planUpdate } from './update-plan.ts';

/** A balloon moves a few hundred MiB in seconds under TCG; a guest that stops giving is stuck. */
const RESIZE_TIMEOUT_MS = 60_000;

/** Free memory a shrink leaves the guest's kernel, beyond what the guest said it could give. */
const GUEST_RESERVE_MIB = 32;

/** runc update's memory flags take sizes; runcvm raises them by the VMM overhead like the JSON. */
const MEMORY_FLAGS = ['memory', 'memory-swap'] as const;

/** The request as runc will apply it: --resources JSON, then the individual flags on top. */
export function requestedResources(json: OciResources | undefined, flags: UpdateFlags = {}): OciResources {
  const req: OciResources = { ...(json ?? {}) };
  const memory = { ...(req.memory ?? {}) };
  const cpu = { ...(req.cpu ?? {}) };
  if (flags.memory !== undefined) memory.limit = parseRam(flags.memory, '--memory');
  if (flags['memory-swap'] !== undefined) memory.swap = parseRam(flags['memory-swap'], '--memory-swap');
  if (flags['cpu-quota'] !== undefined) cpu.quota = Number(flags['cpu-quota']);
  if (flags['cpu-period'] !== undefined) cpu.period = Number(flags['cpu-period']);
  if (flags['cpuset-cpus'] !== undefined) cpu.cpus = flags['cpuset-cpus'];
  if (Object.keys(memory).length) req.memory = memory;
  if (Object.keys(cpu).length) req.cpu = cpu;
  return req;
}

/**
 * The argv runc gets, built from the parsed call (never re-parsed): global flags verbatim,
 * resources always on stdin ("-"), memory flags raised by the overhead, the other flags as given.
 */
export function runcUpdateArgv(args: RuntimeArgs, adjusted: OciResources): string[] {
  const flag = ([name, v]: [string, string]): string => {
    if (!(MEMORY_FLAGS as readonly string[]).includes(name) || parseRam(v, `--${name}`) <= 0) return `--${name}=${v}`;
    return `--${name}=${name === 'memory' ? adjusted.memory?.limit : adjusted.memory?.swap}`;
  };
  const flags = Object.entries(args.updateFlags ?? {}).map(flag);
  return [...args.globalArgv, 'update', '--resources=-', ...flags, args.containerId];
}

function readResources(path: string | undefined): OciResources | undefined {
  if (path === undefined) return undefined;
  const text = readFileSync(path === '-' ? 0 : path, 'utf8');
  try {
    return JSON.parse(text) as OciResources;
  } catch (e) {
    throw new OptionError(`update --resources ${path}: not valid JSON`, { cause: e, context: { file: path } });
  }
}

export async function update(args: RuntimeArgs, argv: string[], host: HostConfig): Promise<number> {
  const state = runcState(host.runc, rootFlags(args.root), args.containerId);
  const pod = readPodContainerMarker(state.bundle);
  if (pod) return updatePodContainer(args, host, state.status, pod);
  const launchFile = join(state.bundle, 'runcvm', 'spec.json');
  // Not a VM (a Kubernetes pod sandbox left to runc, pod.ts): plain runc, stdin untouched.
  if (!existsSync(launchFile)) return runRunc(host.runc, argv);
  const launch = readLaunchSpec(launchFile);
  const plan = planUpdate(requestedResources(readResources(args.resources), args.updateFlags), {
    cpus: launch.cpus,
    memoryMiB: launch.memoryMiB,
  });
  const applyCgroup = () => {
    const code = runRunc(host.runc, runcUpdateArgv(args, plan.resources), JSON.stringify(plan.resources));
    if (code !== 0) throw new Error(`runc update exited with ${code}`);
  };
  // Docker only updates running containers through the runtime; anything else has no VM to follow.
  if (state.status !== 'running') {
    if (plan.memoryTargetMiB !== undefined && state.status === 'paused') {
      throw new OptionError(
        '--memory: the container is paused and its VM cannot give memory back while frozen (unpause it first)',
      );
    }
    applyCgroup();
    return 0;
  }
  if (plan.memoryTargetMiB === undefined && !plan.hostCpus) {
    applyCgroup();
    return 0;
  }
  const control = await openControl(
    host,
    args,
    launch,
    plan.memoryTargetMiB !== undefined ? '--memory' : '--cpuset-cpus',
  );
  try {
    if (plan.memoryTargetMiB !== undefined) await resizeWithCgroup(control, plan.memoryTargetMiB, applyCgroup);
    else applyCgroup();
    // A cpuset change resets the affinity of every thread in the cgroup. The thread ids are in
    // the container's PID namespace, so taskset runs there.
    if (plan.hostCpus)
      pinThreads(await control.vcpuThreads(), plan.hostCpus, ['nsenter', '--target', String(state.pid), '--pid', '--']);
  } finally {
    control.close();
  }
  return 0;
}

/**
 * An app container of a pod VM (the kubelet's UpdateContainerResources): its limits are its
 * guest cgroup's, changed by the agent (START with UPDATE); runc changes the client's host
 * cgroup for everything but memory, whose host limit stays the client's own (pod-update.ts).
 * Everything is checked before anything changes; the guest goes first, so a refusal there
 * leaves the host untouched too.
 */
async function updatePodContainer(
  args: RuntimeArgs,
  host: HostConfig,
  status: string,
  pod: PodContainerMarker,
): Promise<number> {
  const req = requestedResources(readResources(args.resources), args.updateFlags);
  const guest = podUpdateOf(pod.name, req);
  const changes = Object.keys(guest).length > 1;
  if (changes && status !== 'running')
    throw new OptionError(
      `update of ${pod.name}: the container is ${status}; a pod VM's container takes new CPU and memory limits only while it runs`,
    );
  if (changes) {
    if (!pod.sock)
      throw new OptionError(
        `update of ${pod.name}: created by an older runcvm without the pod socket's path (recreate it)`,
      );
    await sendPodUpdate(pod.sock, guest);
  }
  const { memory: _m, 'memory-swap': _s, ...flags } = args.updateFlags ?? {};
  const hostArgv = [
    ...args.globalArgv,
    'update',
    '--resources=-',
    ...Object.entries(flags).map(([k, v]) => `--${k}=${v}`),
    args.containerId,
  ];
  const code = runRunc(host.runc, hostArgv, JSON.stringify(hostResources(req)));
  if (code !== 0) throw new Error(`runc update exited with ${code}`);
  return 0;
}

async function resizeWithCgroup(control: VmControl, target: number, applyCgroup: () => void): Promise<void> {
  const balloon = control.balloon;
  const before = await balloon.actualMiB();
  if (target >= before) {
    applyCgroup();
    const r = await resizeGuest(balloon, target, { timeoutMs: RESIZE_TIMEOUT_MS });
    if (!r.reached) throw new Error(`--memory: the guest took back only ${r.actualMiB} of ${target} MiB`);
    return;
  }
  // The balloon must not take what the guest's kernel needs: once it holds all the free memory,
  // the guest's next allocation (a kernel thread, a page-table page) meets the OOM killer, which
  // kills the workload or, with nothing left to kill, panics ("System is deadlocked on memory").
  // So the guest is asked first, and the balloon only set when the shrink leaves a reserve.
  const available = await balloon.availableMiB();
  if (available === undefined)
    throw new GuestFailure(`--memory: the guest did not report its free memory; left at ${before} MiB`);
  const canGive = Math.max(0, available - GUEST_RESERVE_MIB);
  if (before - target > canGive) {
    throw new OptionError(
      `--memory: the guest cannot free enough memory to shrink to ${target} MiB (it can give ${canGive} of the ${before - target} MiB asked for, keeping ${GUEST_RESERVE_MIB} MiB for its kernel: the rest is in use); left at ${before} MiB`,
    );
  }
  const r = await resizeGuest(balloon, target, { timeoutMs: RESIZE_TIMEOUT_MS });
  if (!r.reached) {
    // Its use grew since it was asked: give everything back at once.
    await balloon.setTargetMiB(before);
    throw new OptionError(
      `--memory: the guest could not free enough memory to shrink to ${target} MiB (it stopped at ${r.actualMiB} MiB: the rest is in use); left at ${before} MiB`,
    );
  }
  try {
    applyCgroup();
  } catch (e) {
    await balloon.setTargetMiB(before);
    throw e;
  }
}

async function openControl(
  host: HostConfig,
  args: RuntimeArgs,
  launch: LaunchSpec,
  option: string,
): Promise<VmControl> {
  const driver = DRIVERS[launch.hypervisor];
  if (!driver.openControl)
    throw new OptionError(`${option}: RUNCVM_HYPERVISOR=${launch.hypervisor} cannot change a running VM yet`);
  const target = { runc: host.runc, root: args.root, containerId: args.containerId, node: host.node };
  try {
    return await driver.openControl((verb) => sandboxRelay(target, verb), `container ${args.containerId.slice(0, 12)}`);
  } catch (e) {
    throw new GuestFailure(`${option}: cannot reach the VM`, {
      cause: e,
      context: { containerId: args.containerId, step: 'update' },
    });
  }
}
