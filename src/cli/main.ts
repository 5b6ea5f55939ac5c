/**
 * Entry point of the one bundled file. `runtime` is what the dispatcher runs for `create`,
 * `update` and some deletes (`exec` is static C: src/runtime/exec-prep); `launcher` is the
 * container's PID 1; `qmp-relay` runs in the container for `update`; `install`/`uninstall` are for administrators. Errors become an exit status and
 * a message here and in the launcher entries, only through contracts/errors.ts (exitStatusFor, describeError).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { versionText } from '../common/version.ts';
import { describeError, exitStatusFor, RuncvmError } from '../contracts/errors.ts';
import { doctor } from '../install/doctor.ts';
import { install, RUNTIME_NAME, uninstall } from '../install/install.ts';
import { podmanConfig } from '../install/podman.ts';
import { defaultPrefix } from '../install/prefix.ts';
import { runningVms } from '../install/running-vms.ts';
import { runLauncher } from '../launcher/launcher.ts';
import { NET_SYNC_FLAG, runNetSync } from '../launcher/net-sync.ts';
import { prepareVmStart } from '../launcher/vm-start.ts';
import { runWritebackVm } from '../launcher/writeback-vm.ts';
import { parseRuntimeArgs } from '../runtime/cli-args.ts';
import { create } from '../runtime/create.ts';
import { execInPod } from '../runtime/exec.ts';
import { readHostConfig } from '../runtime/host-config.ts';
import { pruneJoinShares } from '../runtime/join.ts';
import { deletePodMounts, hasPodMounts } from '../runtime/pod-vm.ts';
import { runcLog } from '../runtime/runc-log.ts';
import { update } from '../runtime/update.ts';
import { deleteWithWriteback } from '../runtime/writeback.ts';
import { QMP_RELAY_VERB, qmpRelay } from '../vmm/qemu/qmp-relay.ts';
import { cacheCommand } from './cache-command.ts';
import { commandHelp, overview, wantsHelp } from './commands.ts';
import { debugCommand } from './debug-command.ts';
import { metricsCommand } from './metrics-command.ts';
import { psCommand } from './ps-command.ts';
import { versionCommand } from './version-command.ts';

function bundleFile(): string {
  return fileURLToPath(import.meta.url);
}

async function runtime(argv: string[]): Promise<number> {
  const args = parseRuntimeArgs(argv, process.cwd());
  const log = runcLog(args.log, args.logFormat);
  try {
    const prefix = dirname(dirname(bundleFile()));
    if (args.verb === 'create')
      return create(
        args,
        argv,
        prefix,
        (level, msg) => log.write(level, msg),
        () => new Set(runningVms().map((v) => v.containerId)),
        (inputs) => prepareVmStart(inputs),
      );
    if (args.verb === 'exec') return execInPod(args, argv, readHostConfig(prefix));
    if (args.verb === 'update') return await update(args, argv, readHostConfig(prefix));
    if (args.verb === 'delete') {
      const code = await deleteWithWriteback(args, argv, readHostConfig(prefix), (m) =>
        log.write('warning', `runcvm: container ${args.containerId.slice(0, 12)}: ${m}`),
      );
      // A pod VM's share, or an app container's root in it (runtime/pod-vm.ts).
      if (code === 0 && hasPodMounts(args.containerId)) {
        deletePodMounts(args.containerId);
        // A joiner deleted after the container whose VM it ran in (runtime/join.ts).
        pruneJoinShares();
      }
      return code;
    }
    throw new RuncvmError('internal', `runcvm runtime: unexpected command ${args.verb}`);
  } catch (e) {
    const msg = `runcvm: container ${args.containerId.slice(0, 12)}: ${describeError(e)}`;
    log.write('error', msg);
    // containerd reports a failed update with the runtime's output, not its log (as runc, say it on both).
    if (args.verb === 'update') process.stderr.write(`${msg}\n`);
    return exitStatusFor(e);
  }
}

/** `--version`, `help [CMD]` and `CMD --help`; undefined when the command line is none of them. */
function helpOrVersion(cmd: string | undefined, rest: string[]): number | undefined {
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(versionText('runcvm'));
    return 0;
  }
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) {
    process.stdout.write(overview());
    return 0;
  }
  const topic = cmd === 'help' ? (rest[0] as string) : wantsHelp(cmd, rest) ? cmd : undefined;
  if (topic === undefined) return undefined;
  const text = commandHelp(topic);
  if (text === undefined) {
    process.stderr.write(`runcvm: unknown command "${topic}"\n${overview()}`);
    return 2;
  }
  process.stdout.write(text);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const early = helpOrVersion(cmd, rest);
  if (early !== undefined) return early;
  switch (cmd) {
    case 'runtime':
      return runtime(rest);
    case 'launcher':
      if (rest[0] === NET_SYNC_FLAG) return runNetSync();
      return rest[0] === '--writeback' ? runWritebackVm() : runLauncher();
    case QMP_RELAY_VERB:
      return qmpRelay();
    case 'install':
      return install(rest, bundleFile());
    case 'uninstall':
      return uninstall(rest, defaultPrefix(bundleFile()));
    case 'doctor':
      return doctor(rest, defaultPrefix(bundleFile()));
    case 'cache':
      return cacheCommand(rest, defaultPrefix(bundleFile()));
    case 'ps':
      return psCommand(rest);
    case 'debug':
      return debugCommand(rest);
    case 'metrics':
      return metricsCommand(rest);
    case 'version':
      return versionCommand(rest, defaultPrefix(bundleFile()));
    case 'podman-config':
      process.stdout.write(podmanConfig(RUNTIME_NAME, join(dirname(dirname(bundleFile())), 'bin', 'runcvm-runtime')));
      return 0;
    default:
      process.stderr.write(`runcvm: unknown command "${cmd}"\n${overview()}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`runcvm: ${describeError(e)}\n`);
    process.exit(exitStatusFor(e));
  },
);
