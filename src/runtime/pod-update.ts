/**
 * CPU and memory of an app container of a pod VM (docs/engines.md, "Per-container resources"):
 * its limits live in its guest cgroup, not in the host cgroup of its exec client. This module
 * turns the OCI resources of a create or a `runc update` (the kubelet's UpdateContainerResources)
 * into the guest's values, and sends an update to the pod VM over the pod socket (START with
 * UPDATE, docs/agent-protocol.md).
 */
import { closeSync, constants, lstatSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { encodeFrame, type Frame, FrameDecoder, MsgType } from '../agent-protocol/frame.ts';
import { encodeUpdate, type PodUpdate } from '../agent-protocol/messages.ts';
import { GuestFailure, OptionError } from '../contracts/errors.ts';
import type { OciResources } from '../oci/spec.ts';

/** The kernel's default CFS period, when a quota comes without one (runc's default too). */
const DEFAULT_PERIOD_US = 100_000;
/** The agent writes a few cgroup files: anything slower is a VM that no longer answers. */
const UPDATE_TIMEOUT_MS = 30_000;

/**
 * cpu.shares (cgroup v1, 2 to 262144) as cgroup v2's cpu.weight (1 to 10000), with runc's
 * formula up to 1.3.1 (the runc this runtime runs on Debian 12: 1024 shares → 39), so a pod
 * container's guest weight is what runc writes for a runc container. runc 1.3.2 and later use
 * a logarithmic curve (1024 → 100); weights are relative among the pod's containers, and every
 * container of a pod gets the same conversion, so their shares of the VM's vCPUs keep the order
 * and proportions the kubelet asked for.
 */
export function cpuWeightOfShares(shares: number | undefined): number | undefined {
  if (shares === undefined || shares === 0) return undefined;
  if (!Number.isInteger(shares) || shares < 2 || shares > 262_144)
    throw new OptionError(`linux.resources.cpu.shares ${shares}: allowed 2 to 262144 (or 0 for none)`);
  return 1 + Math.floor(((shares - 2) * 9999) / 262_142);
}

function checkPeriod(period: number): number {
  if (!Number.isInteger(period) || period < 1000 || period > 1_000_000)
    throw new OptionError(`linux.resources.cpu.period ${period}: allowed 1000 to 1000000 microseconds`);
  return period;
}

/**
 * The limits an update changes in the guest. As runc: an absent or 0 value leaves the limit as
 * it is; -1 lifts it (memory.max and cpu.max "max").
 */
export function podUpdateOf(name: string, req: OciResources): PodUpdate {
  const out: PodUpdate = { name };
  const limit = req.memory?.limit;
  if (limit !== undefined && limit !== 0) {
    if (limit === -1) out.memoryMaxBytes = 0;
    else if (Number.isInteger(limit) && limit > 0) out.memoryMaxBytes = limit;
    else throw new OptionError(`linux.resources.memory.limit ${limit}: allowed a byte count, or -1 for none`);
  }
  const quota = req.cpu?.quota;
  if (quota !== undefined && quota !== 0) {
    const periodUs = checkPeriod(req.cpu?.period || DEFAULT_PERIOD_US);
    if (quota === -1) out.cpuMax = { quotaUs: 0, periodUs };
    else if (Number.isInteger(quota) && quota >= 1000 && quota <= 2 ** 40) out.cpuMax = { quotaUs: quota, periodUs };
    else throw new OptionError(`linux.resources.cpu.quota ${quota}: allowed 1000 microseconds or more, or -1 for none`);
  }
  const weight = cpuWeightOfShares(req.cpu?.shares);
  if (weight !== undefined) out.cpuWeight = weight;
  return out;
}

/**
 * What runc still applies to the client's host cgroup: everything but memory, whose host limit
 * stays the one create gave the client (pod-vm.ts CLIENT_MEMORY_BYTES: the container's exec
 * clients live in it, and the client's OOM report relies on it).
 */
export function hostResources(req: OciResources): OciResources {
  const { memory: _memory, ...rest } = req;
  return rest;
}

/** Sends the update to the pod VM's launcher over the pod socket and waits for the agent's answer. */
export async function sendPodUpdate(sockDir: string, update: PodUpdate, timeoutMs = UPDATE_TIMEOUT_MS): Promise<void> {
  const path = join(sockDir, 'exec.sock');
  // Our own dir in the sandbox's bundle; the socket itself must be one (no symlink followed).
  if (!lstatSync(path, { throwIfNoEntry: false })?.isSocket())
    throw new GuestFailure(`update of ${update.name}: no pod VM socket at ${path}`);
  // A bundle path is often longer than a socket address may be (108 bytes): connect through
  // the dir's descriptor instead.
  let dirFd: number;
  try {
    dirFd = openSync(sockDir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    throw new GuestFailure(`update of ${update.name}: open ${sockDir}`, { cause: e });
  }
  try {
    await exchange(`/proc/self/fd/${dirFd}/exec.sock`, path, update, timeoutMs);
  } finally {
    closeSync(dirFd);
  }
}

function exchange(address: string, path: string, update: PodUpdate, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = connect(address);
    const decoder = new FrameDecoder();
    let settled = false;
    const finish = (e?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (e) reject(e);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new GuestFailure(`update of ${update.name}: the pod VM did not answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    conn.on('connect', () => conn.write(encodeFrame(MsgType.START, 1, encodeUpdate(update))));
    conn.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        finish(new GuestFailure(`update of ${update.name}: bad answer from the pod VM`, { cause: e }));
        return;
      }
      for (const f of frames) {
        if (f.type === MsgType.EXIT) finish();
        else if (f.type === MsgType.ERROR)
          finish(new GuestFailure(`update of ${update.name} in the pod VM: ${f.payload.subarray(4).toString()}`));
      }
    });
    conn.on('error', (e) => finish(new GuestFailure(`update of ${update.name}: pod VM socket ${path}`, { cause: e })));
    conn.on('close', () => finish(new GuestFailure(`update of ${update.name}: the pod VM closed the connection`)));
  });
}
