/**
 * `runcvm-runtime exec`: `docker exec` must run in the guest, so the process containerd asked
 * for is replaced by the exec client (which talks to the launcher) and handed to runc; the
 * original travels in the client's environment. The command is looked up in the image first so
 * that a missing one fails the way runc's exec does (Docker shows the message, status 126).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { OptionError } from '../contracts/errors.ts';
import { readLaunchSpec } from '../contracts/read-launch-spec.ts';
import { envValue, type OciProcess } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { execClientProcess } from './exec-client.ts';
import type { HostConfig } from './host-config.ts';
import { lookupExecError } from './lookup-exec.ts';
import { joinPlacement, type PodContainerMarker, readPodContainerMarker } from './pod-vm.ts';
import { rootFlags, runcState, runRunc } from './runc.ts';
import { workloadOf } from './workload.ts';

export function exec(args: RuntimeArgs, argv: string[], host: HostConfig): number {
  if (!args.process) throw new OptionError('runcvm supports exec only with --process (as containerd calls it)');
  // Not the cwd: containerd's CRI runs one shim per pod, in the sandbox's bundle.
  const bundle = runcState(host.runc, rootFlags(args.root), args.containerId).bundle;
  const launchFile = join(bundle, 'runcvm', 'spec.json');
  // An app container of a pod VM: the exec joins it in the guest (pod-vm.ts).
  const pod = readPodContainerMarker(bundle);
  if (pod) return execInPod(args, argv, host, pod);
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

function execInPod(args: RuntimeArgs, argv: string[], host: HostConfig, pod: PodContainerMarker): number {
  const p = readProcess(args.process as string);
  const w = workloadOf(p);
  const err = lookupExecError(pod.rootfs, w.args[0] as string, envValue(w.env, 'PATH'), w.cwd, []);
  if (err) throw new OptionError(`exec failed: unable to start container process: ${err}`);
  writeFileAtomic(args.process as string, JSON.stringify(execClientProcess(p, joinPlacement(pod))), 0o600);
  return runRunc(host.runc, argv);
}

function readProcess(file: string): OciProcess {
  const p = JSON.parse(readFileSync(file, 'utf8')) as OciProcess;
  if (!Array.isArray(p.args) || p.args.length === 0) throw new OptionError(`${file}: process.args missing or empty`);
  return p;
}
