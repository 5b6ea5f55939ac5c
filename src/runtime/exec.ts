/**
 * `exec` into an app container of a pod VM (pod-vm.ts): the only exec that still starts Node.
 * Every other exec goes from the dispatcher to the static exec-prep (src/runtime/exec-prep/),
 * which knows nothing of pods: here the process becomes the exec client with a JOIN of that
 * container, and the command is looked up in the container's own root.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { OptionError } from '../contracts/errors.ts';
import { envValue, type OciProcess } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { execClientProcess } from './exec-client.ts';
import type { HostConfig } from './host-config.ts';
import { lookupExecError } from './lookup-exec.ts';
import { joinPlacement, readPodContainerMarker } from './pod-vm.ts';
import { rootFlags, runcState, runRunc } from './runc.ts';
import { workloadOf } from './workload.ts';

export function execInPod(args: RuntimeArgs, argv: string[], host: HostConfig): number {
  if (!args.process) throw new OptionError('runcvm supports exec only with --process (as containerd calls it)');
  // Not the cwd: containerd's CRI runs one shim per pod, in the sandbox's bundle.
  const bundle = runcState(host.runc, rootFlags(args.root), args.containerId).bundle;
  const pod = readPodContainerMarker(bundle);
  // The pod VM itself (the sandbox, which has a marker too): an ordinary exec into a VM.
  if (!pod) return runExecPrep(host, argv);
  const p = readProcess(args.process);
  const w = workloadOf(p);
  const err = lookupExecError(pod.rootfs, w.args[0] as string, envValue(w.env, 'PATH'), w.cwd, []);
  if (err) throw new OptionError(`exec failed: unable to start container process: ${err}`);
  writeFileAtomic(args.process, JSON.stringify(execClientProcess(p, joinPlacement(pod))), 0o600);
  return runRunc(host.runc, argv);
}

/** The static exec-prep of this install (beside the dispatcher), with the dispatcher's argv. */
function runExecPrep(host: HostConfig, argv: string[]): number {
  const prep = join(dirname(process.argv[1] as string), '..', 'bin', 'runcvm-exec-prep');
  const r = spawnSync(prep, [host.runc, ...argv], { stdio: 'inherit' });
  if (r.error) throw new OptionError(`exec: cannot run ${prep}`, { cause: r.error });
  return r.status ?? 128 + 9;
}

function readProcess(file: string): OciProcess {
  const p = JSON.parse(readFileSync(file, 'utf8')) as OciProcess;
  if (!Array.isArray(p.args) || p.args.length === 0) throw new OptionError(`${file}: process.args missing or empty`);
  return p;
}
