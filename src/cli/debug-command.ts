/**
 * `runcvm debug [--tool FILE] CONTAINER [CMD...]`: a shell, or CMD, inside a running runcvm VM
 * but outside the workload's PID and mount namespaces: the agent's view (every guest process,
 * the guest's own /proc, the kernel log). The guest's initramfs carries no tools, and the image
 * may have none (or untrustworthy ones), so the program is the host's static busybox, sent over
 * the exec channel for this one process and run from a sealed memfd in the guest: nothing is
 * written into the image, nothing is added to every VM's boot. Host root only: it reaches the
 * launcher's exec socket through /proc/<launcher>/root, which needs root's ptrace access, without
 * following any link the sandbox may have planted (common/open-in-root.ts).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeDebugStart, TOOL_MAX } from '../agent-protocol/messages.ts';
import { HOST_LOG_ROOT } from '../common/host-log.ts';
import { openInRoot, socketPathOf } from '../common/open-in-root.ts';
import { tryConnect } from '../common/unix-socket.ts';
import { waitUntil } from '../common/wait.ts';
import { GuestFailure, HostNotReadyError, OptionError } from '../contracts/errors.ts';
import { type RunningVm, runningVms } from '../install/running-vms.ts';
import { type DebugIo, runDebugSession } from './debug-session.ts';
import { logDirOf, logIdsMatching, readContainerLog } from './host-log-read.ts';
import { staticElfProblem } from './static-elf.ts';

/** The launcher's exec socket inside its sandbox (launcher/exec-server.ts EXEC_SOCKET). */
const EXEC_SOCKET_IN_CONTAINER = 'run/runcvm/exec.sock';
/** busybox-static's binary on Debian. */
export const DEFAULT_TOOL = '/bin/busybox';
/** A VM booting under TCG takes seconds; a loaded host, tens. */
const CONNECT_TIMEOUT_MS = 120_000;
const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface DebugArgs {
  container: string;
  tool: string;
  command: string[];
  /** --log: print the container's host log instead. */
  log: boolean;
}

export function parseDebugArgs(argv: readonly string[]): DebugArgs {
  let tool = DEFAULT_TOOL;
  let log = false;
  let i = 0;
  for (; i < argv.length && (argv[i] as string).startsWith('-'); i++) {
    const a = argv[i] as string;
    if (a === '--tool' && i + 1 < argv.length) tool = argv[++i] as string;
    else if (a.startsWith('--tool=')) tool = a.slice('--tool='.length);
    else if (a === '--log') log = true;
    else throw new OptionError(`debug: unknown option "${a}" (allowed: --tool FILE, --log)`);
  }
  const container = argv[i];
  if (!container) throw new OptionError('debug: name a container (runcvm debug CONTAINER [CMD...])');
  const command = argv.slice(i + 1);
  if (log && command.length > 0) throw new OptionError('debug --log: takes a container only, no command');
  return { container, tool, command, log };
}

/** The VM a name, full id or unique id prefix designates among the running ones. */
export function findVm(vms: readonly RunningVm[], query: string): RunningVm | undefined {
  const live = vms.filter((v) => !v.writeback);
  const exact = live.find((v) => v.containerId === query || v.name === query);
  if (exact) return exact;
  const byPrefix = /^[0-9a-f]{1,64}$/.test(query) ? live.filter((v) => v.containerId.startsWith(query)) : [];
  if (byPrefix.length > 1)
    throw new OptionError(`debug: "${query}" is the start of ${byPrefix.length} container ids: give more`);
  return byPrefix[0];
}

/** Why Docker's container `query` has no runcvm VM to debug, when Docker knows it. */
function whyNotDebuggable(query: string): string {
  let out: string;
  try {
    out = execFileSync(
      'docker',
      ['container', 'inspect', '--format', '{{.State.Status}} {{.HostConfig.Runtime}}', '--', query],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 30_000 },
    ).trim();
  } catch {
    return `no running runcvm container "${query}" (runcvm ps lists them)`;
  }
  const [status, runtime] = out.split(' ');
  if (status !== 'running') return `container "${query}" is not running (status ${status})`;
  return `container "${query}" is not a runcvm container (runtime ${runtime}) or its VM is not up yet`;
}

/** argv in the guest: busybox's shell, or CMD through it (applets first, then the image's PATH). */
export function guestArgv(command: readonly string[]): string[] {
  return command.length === 0 ? ['sh'] : ['sh', '-c', 'exec "$@"', 'runcvm-debug', ...command];
}

export function readTool(path: string): Buffer {
  let tool: Buffer;
  try {
    tool = readFileSync(path);
  } catch (e) {
    throw new HostNotReadyError(
      `debug: the guest program ${path} (a static busybox: apt-get install busybox-static, or --tool FILE)`,
      { cause: e },
    );
  }
  const problem = staticElfProblem(tool);
  if (problem) throw new HostNotReadyError(`debug: ${path} cannot run in the guest: ${problem}`);
  if (tool.length > TOOL_MAX) throw new HostNotReadyError(`debug: ${path} is over ${TOOL_MAX} bytes`);
  return tool;
}

/** The full id of a container by name or id prefix: a running VM's, Docker's, or a kept log's. */
function logIdOf(query: string): string {
  const vm = findVm(runningVms(), query);
  if (vm) return vm.containerId;
  const byLog = logIdsMatching(query);
  if (byLog.length === 1) return byLog[0] as string;
  if (byLog.length > 1)
    throw new OptionError(`debug --log: "${query}" is the start of ${byLog.length} logged container ids`);
  try {
    return execFileSync('docker', ['container', 'inspect', '--format', '{{.Id}}', '--', query], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30_000,
    }).trim();
  } catch {
    throw new OptionError(`debug --log: no container "${query}" has a host log in ${HOST_LOG_ROOT}`);
  }
}

function printLog(query: string, io: DebugIo): number {
  const id = logIdOf(query);
  const text = readContainerLog(logDirOf(id));
  if (text === '')
    throw new OptionError(`debug --log: container ${id.slice(0, 12)} has no host log in ${HOST_LOG_ROOT}`);
  io.stdout.write(text);
  return 0;
}

export async function debugCommand(argv: string[], io: DebugIo = process): Promise<number> {
  const args = parseDebugArgs(argv);
  if (process.getuid?.() !== 0) throw new OptionError('debug: only root on the host can debug a VM');
  if (args.log) return printLog(args.container, io);
  const vm = findVm(runningVms(), args.container);
  if (!vm) throw new OptionError(`debug: ${whyNotDebuggable(args.container)}`);
  const tool = readTool(args.tool);
  const terminal = Boolean(io.stdin.isTTY && (io.stdout as { isTTY?: boolean }).isTTY);
  const env = [`PATH=${GUEST_PATH}`, 'HOME=/', ...(terminal ? [`TERM=${process.env.TERM ?? 'xterm'}`] : [])];
  const start = encodeDebugStart(
    {
      args: guestArgv(args.command),
      env,
      cwd: '/',
      uid: 0,
      gid: 0,
      groups: [],
      terminal,
      ...(terminal && io.stdout.rows && io.stdout.columns
        ? { consoleSize: { rows: io.stdout.rows, cols: io.stdout.columns } }
        : {}),
    },
    tool.length,
  );
  const root = join('/proc', String(vm.launcherPid), 'root');
  // The launcher listens once the workload has started: a VM still booting is waited for.
  const sock = await waitUntil(
    "the VM's exec socket (the workload starting)",
    async () => {
      if (!existsSync(`/proc/${vm.launcherPid}`))
        throw new GuestFailure(`debug: container ${vm.containerId.slice(0, 12)} stopped`);
      let fd: number;
      try {
        // The sandbox can write its /run: no link there is followed (open-in-root.ts).
        fd = openInRoot(root, EXEC_SOCKET_IN_CONTAINER, 'socket');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new GuestFailure(`debug: the exec socket of container ${vm.containerId.slice(0, 12)}`, { cause: e });
      }
      try {
        return await tryConnect(socketPathOf(fd));
      } finally {
        closeSync(fd);
      }
    },
    { timeoutMs: CONNECT_TIMEOUT_MS, intervalMs: 50 },
  );
  return runDebugSession(sock, start, tool, terminal, io);
}
