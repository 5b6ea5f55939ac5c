/**
 * `launcher --writeback`: the write-back of a killed image-root container, in a VM of its own.
 * When a container stops without a clean exit (docker kill, a stop timeout, QEMU killed), the
 * guest's changes are on its writable drive but not in Docker's layer, so `docker cp`, `diff`
 * and `commit` would not see them. The runtime's `delete` (runtime/writeback.ts) then runs this
 * in a sandbox made like the container's: a VM with the same drives and host share, no network,
 * no workload; the agent copies the upper dir into the layer (WRITEBACK_ONLY, agent-protocol.md).
 * The host kernel never mounts the guest-written ext4: only the guest's kernel parses it.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitCode } from '../agent-protocol/messages.ts';
import { describeError, exitStatusFor, GuestFailure, RuncvmError } from '../contracts/errors.ts';
import type { GuestNetwork } from '../contracts/guest-network.ts';
import { type LaunchSpec, RUN_DIR, SPEC_PATH } from '../contracts/launch-spec.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import type { RunningVm } from '../vmm/driver.ts';
import { DRIVERS } from '../vmm/drivers.ts';
import { startVolumeServer, type VolumeServer } from '../volumes/server.ts';
import { AgentSession } from './agent-session.ts';
import { guestConfigFor, vmSpecFor } from './vm-from-spec.ts';

const HELLO_TIMEOUT_MS = { kvm: 30_000, tcg: 180_000 } as const;
const POWEROFF_TIMEOUT_MS = 10_000;

const NO_NETWORK: GuestNetwork = { ifaces: [], routes: [], dnsRelay: false, spares: [] };

function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  const ac = new AbortController();
  return Promise.race([
    p.finally(() => ac.abort()),
    sleep(ms, undefined, { signal: ac.signal }).then(() => {
      throw new GuestFailure(`timed out after ${ms} ms ${what}`);
    }),
  ]);
}

async function writeBack(spec: LaunchSpec, vm: RunningVm): Promise<number> {
  const vmDied = vm.exited.then((e) => {
    throw new GuestFailure(`the write-back VM stopped early (${e.signal ?? `exit ${e.code}`})\n${vm.diagnostics()}`);
  });
  const ac = new AbortController();
  vmDied.catch(() => ac.abort());
  const channel = await Promise.race([vm.connectAgent(ac.signal), vmDied]);
  const session = new AgentSession(channel, (l) => process.stderr.write(`runcvm-agent: ${l.line}\n`));
  const failed = session.failed.then((e) => {
    throw new GuestFailure(`${e.message}\n${vm.diagnostics()}`);
  });
  const guard = <T>(p: Promise<T>) => Promise.race([p, vmDied, failed]);
  await guard(deadline(session.waitHello(), HELLO_TIMEOUT_MS[spec.accel], 'waiting for the guest agent'));
  const outcome = session.awaitExit(1);
  session.configure({
    ...guestConfigFor(spec, NO_NETWORK),
    ...(vm.driveOrder ? { driveOrder: vm.driveOrder } : {}),
    writebackOnly: true,
  });
  const r = await guard(outcome);
  session.shutdown();
  const off = await Promise.race([vm.exited.then(() => true), sleep(POWEROFF_TIMEOUT_MS).then(() => false)]);
  if (!off) await vm.kill();
  if (r.kind === 'error') throw new GuestFailure(`guest: ${r.error.message}`);
  return exitCode(r.status);
}

export async function runWritebackVm(): Promise<number> {
  let vm: RunningVm | undefined;
  let volumes: VolumeServer | undefined;
  try {
    const spec = readLaunchSpec(SPEC_PATH);
    if (!spec.rootImage)
      throw new RuncvmError('internal', 'not an image-root container: nothing to write back', {
        context: { file: SPEC_PATH },
      });
    mkdirSync(RUN_DIR, { recursive: true, mode: 0o700 });
    if (spec.volumes)
      volumes = await startVolumeServer(spec.volumes, NO_NETWORK, {
        iptables: spec.iptables,
        debug: spec.runtimeDebug,
      });
    vm = await DRIVERS[spec.hypervisor].start(vmSpecFor(spec, RUN_DIR, [], volumes ? [volumes.nic] : []));
    const code = await writeBack(spec, vm);
    if (code !== 0)
      process.stderr.write('runcvm: write-back failed: the writable drive keeps the changes for the next start\n');
    return code;
  } catch (e) {
    process.stderr.write(`runcvm: write-back VM: ${describeError(e)}\n`);
    await vm?.kill();
    return exitStatusFor(e);
  } finally {
    volumes?.stop();
  }
}
