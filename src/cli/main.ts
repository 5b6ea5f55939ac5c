/**
 * Entry point of the one bundled file. `runtime` is what the dispatcher runs for `create`,
 * `exec` and `update`; `launcher` is the container's PID 1; `qmp-relay` runs in the container
 * for `update`; `install`/`uninstall` are for administrators. Errors become an exit status and
 * a message here and in the launcher entries, only through contracts/errors.ts (exitStatusFor, describeError).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuntimeArgs } from '../runtime/cli-args.ts';
import { create } from '../runtime/create.ts';
import { runcLog } from '../runtime/runc-log.ts';
import { runLauncher } from '../launcher/launcher.ts';
import { deleteWithWriteback } from '../runtime/writeback.ts';
import { runWritebackVm } from '../launcher/writeback-vm.ts';
import { exec } from '../runtime/exec.ts';
import { update } from '../runtime/update.ts';
import { readHostConfig } from '../runtime/host-config.ts';
import { install, RUNTIME_NAME, uninstall } from '../install/install.ts';
import { doctor } from '../install/doctor.ts';
import { cacheCommand } from './cache-command.ts';
import { podmanConfig } from '../install/podman.ts';
import { QMP_RELAY_VERB, qmpRelay } from '../vmm/qemu/qmp-relay.ts';
import { describeError, exitStatusFor, RuncvmError } from '../contracts/errors.ts';

const USAGE = `usage: runcvm <command>
  install [--prefix DIR] [--name NAME] [--allow-tcg]   install into DIR (default /opt/runcvm) and register
                                         with dockerd as runtime NAME (default runcvm)
  uninstall [--prefix DIR] [--name NAME] unregister and remove
    install/uninstall --containerd | --containerd-config FILE   also (un)register the CRI runtime handler "runcvm"
  doctor [--containerd-config FILE]      which engines (Docker, containerd, Podman) are configured to use runcvm
  cache ls | prune [--max SIZE]          list or evict cached image rootfs files (RUNCVM_ROOTFS=image)
  podman-config                          print the containers.conf lines that register runcvm with Podman
  runtime <runc arguments>               the OCI runtime entry (called by containerd's shim)
  launcher                               the container's PID 1 (started by runc)
  qmp-relay                              stdio <-> QEMU's QMP socket, run in the container by \`runtime update\``;

function bundleFile(): string {
  return fileURLToPath(import.meta.url);
}

async function runtime(argv: string[]): Promise<number> {
  const args = parseRuntimeArgs(argv, process.cwd());
  const log = runcLog(args.log, args.logFormat);
  try {
    const prefix = dirname(dirname(bundleFile()));
    if (args.verb === 'create') return create(args, argv, prefix, (level, msg) => log.write(level, msg));
    if (args.verb === 'exec') return exec(args, argv, readHostConfig(prefix));
    if (args.verb === 'update') return await update(args, argv, readHostConfig(prefix));
    if (args.verb === 'delete') {
      return await deleteWithWriteback(args, argv, readHostConfig(prefix), (m) => log.write('warning', `runcvm: container ${args.containerId.slice(0, 12)}: ${m}`));
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

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'runtime':
      return runtime(rest);
    case 'launcher':
      return rest[0] === '--writeback' ? runWritebackVm() : runLauncher();
    case QMP_RELAY_VERB:
      return qmpRelay();
    case 'install':
      return install(rest, bundleFile());
    case 'uninstall':
      return uninstall(rest);
    case 'doctor':
      return doctor(rest);
    case 'cache':
      return cacheCommand(rest);
    case 'podman-config':
      process.stdout.write(podmanConfig(RUNTIME_NAME, join(dirname(dirname(bundleFile())), 'bin', 'runcvm-runtime')));
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || cmd === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`runcvm: ${describeError(e)}\n`);
    process.exit(exitStatusFor(e));
  },
);
