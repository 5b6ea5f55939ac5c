/**
 * Entry point of the one bundled file. `runtime` is what the dispatcher runs for `create`;
 * `launcher` is the container's PID 1; `install`/`uninstall` are for administrators.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRuntimeArgs } from '../runtime/cli-args.ts';
import { create } from '../runtime/create.ts';
import { runcLog } from '../runtime/runc-log.ts';
import { runLauncher } from '../launcher/launcher.ts';
import { install, uninstall } from '../install/install.ts';

const USAGE = `usage: runcvm <command>
  install [--prefix DIR] [--allow-tcg]   install into DIR (default /opt/runcvm) and register with dockerd
  uninstall [--prefix DIR]               unregister and remove
  runtime <runc arguments>               the OCI runtime entry (called by containerd's shim)
  launcher                               the container's PID 1 (started by runc)`;

function bundleFile(): string {
  return fileURLToPath(import.meta.url);
}

async function runtime(argv: string[]): Promise<number> {
  const args = parseRuntimeArgs(argv, process.cwd());
  const log = runcLog(args.log, args.logFormat);
  try {
    if (args.verb !== 'create') throw new Error(`runcvm runtime: unexpected command ${args.verb}`);
    return create(args, argv, dirname(dirname(bundleFile())), (level, msg) => log.write(level, msg));
  } catch (e) {
    log.write('error', `runcvm: container ${args.containerId.slice(0, 12)}: ${(e as Error).message}`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'runtime':
      return runtime(rest);
    case 'launcher':
      return runLauncher();
    case 'install':
      return install(rest, bundleFile());
    case 'uninstall':
      return uninstall(rest);
    default:
      process.stderr.write(`${USAGE}\n`);
      return cmd === undefined || cmd === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`runcvm: ${e.message}\n`);
    process.exit(1);
  },
);
