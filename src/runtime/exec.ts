/**
 * `runcvm-runtime exec`: `docker exec` must run in the guest, so the process containerd asked
 * for is replaced by the exec client (which talks to the launcher) and handed to runc; the
 * original travels in the client's environment. The command is looked up in the image first so
 * that a missing one fails the way runc's exec does (Docker shows the message, status 126).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeStart } from '../agent-protocol/messages.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { OptionError } from '../contracts/errors.ts';
import { PREFIX_IN_CONTAINER } from '../contracts/launch-spec.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import { envValue, type OciProcess } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import type { HostConfig } from './host-config.ts';
import { lookupExecError } from './lookup-exec.ts';
import { rootFlags, runcState, runRunc } from './runc.ts';
import { workloadOf } from './workload.ts';

/** The exec client's environment variable: the agent START payload (TLV), base64. */
export const EXEC_START_ENV = 'RUNCVM_EXEC_START';

/**
 * The process runc starts in the container instead: runcvm-exec (src/launcher/exec), with no
 * capabilities and cwd / (never created in the runtime root). The START payload is encoded here
 * so the static client only has to decode base64.
 */
export function execClientProcess(p: OciProcess): OciProcess {
  return {
    ...p,
    args: [`${PREFIX_IN_CONTAINER}/bin/runcvm-exec`],
    env: [
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'HOME=/run',
      `${EXEC_START_ENV}=${encodeStart(workloadOf(p)).toString('base64')}`,
    ],
    cwd: '/',
    user: { uid: 0, gid: 0 },
    capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
  };
}

export function exec(args: RuntimeArgs, argv: string[], host: HostConfig): number {
  if (!args.process) throw new OptionError('runcvm supports exec only with --process (as containerd calls it)');
  // Not the cwd: containerd's CRI runs one shim per pod, in the sandbox's bundle.
  const launchFile = join(runcState(host.runc, rootFlags(args.root), args.containerId).bundle, 'runcvm', 'spec.json');
  // A container runcvm left to runc (a Kubernetes pod sandbox, pod.ts) has no VM to exec into.
  if (!existsSync(launchFile)) return runRunc(host.runc, argv);
  const launch = readLaunchSpec(launchFile);
  const p = JSON.parse(readFileSync(args.process, 'utf8')) as OciProcess;
  if (!Array.isArray(p.args) || p.args.length === 0)
    throw new OptionError(`${args.process}: process.args missing or empty`);
  const w = workloadOf(p);
  const mountDests = launch.mounts.map((m) => m.destination);
  const err = lookupExecError(launch.rootfs, w.args[0] as string, envValue(w.env, 'PATH'), w.cwd, mountDests);
  if (err) throw new OptionError(`exec failed: unable to start container process: ${err}`);
  writeFileAtomic(args.process, JSON.stringify(execClientProcess(p)), 0o600);
  return runRunc(host.runc, argv);
}
