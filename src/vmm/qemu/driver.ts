/**
 * QEMU backend: one virtiofsd per shared directory, then qemu-system-x86_64 (microvm).
 * The agent channel is a virtio-serial port whose host end is a Unix socket QEMU listens on.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { Tail } from '../../common/tail.ts';
import { tryConnect } from '../../common/unix-socket.ts';
import { waitUntil } from '../../common/wait.ts';
import { describeError, GuestFailure } from '../../contracts/errors.ts';
import { pinThreads } from '../cpu-pinning.ts';
import type { HostCheck, RunningVm, VmExit, VmmDriver } from '../driver.ts';
import { VmmUnavailableError } from '../driver.ts';
import type { PipeFds, VmSpec } from '../vm-spec.ts';
import { type QemuPaths, qemuArgv, qemuPaths } from './argv.ts';
import { qemuControl } from './control.ts';
import { Qmp } from './qmp.ts';
import { QMP_RELAY_VERB } from './qmp-relay.ts';

export const QEMU_BINARY = '/usr/bin/qemu-system-x86_64';
export const VIRTIOFSD_BINARY = '/usr/lib/qemu/virtiofsd';
const SOCKET_TIMEOUT_MS = 10_000;

export interface QemuBinaries {
  qemu: string;
  virtiofsd: string;
}

function requireFile(path: string, what: string, hint: string): void {
  if (!existsSync(path))
    throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=qemu: ${what} not found at ${path} (${hint})`);
}

function exitOf(child: ChildProcess): Promise<VmExit> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

type Source = 'qemu' | 'virtiofsd';

/**
 * Where a child's stderr goes and who reads it: the driver's own pipe per child, or (under
 * runcvm-supervisor) the supervisor's pipe for that source, read here until releaseOutput().
 */
class StderrSink {
  private readers: Socket[] = [];

  constructor(
    private readonly tail: Tail,
    private readonly output: VmSpec['output'],
    private readonly pipes: VmSpec['stderrPipes'],
  ) {
    if (!pipes) return;
    this.readers.push(this.read(pipes.vmm, 'qemu'), this.read(pipes.fileServer, 'virtiofsd'));
  }

  /** The child's stderr in spawn's stdio terms. */
  stdio(source: Source): 'pipe' | number {
    const p = this.pipes;
    if (!p) return 'pipe';
    return (source === 'qemu' ? p.vmm : p.fileServer).write;
  }

  /** A child spawned with stdio(source): its own pipe, when it has one, is read here. */
  attach(child: ChildProcess, source: Source): void {
    child.stderr?.on('data', (d: Buffer) => this.take(source, d));
  }

  release(): void {
    for (const r of this.readers) r.pause();
  }

  private take(source: Source, d: Buffer): void {
    this.tail.push(d);
    this.output?.(source, d);
  }

  private read(fds: PipeFds, source: Source): Socket {
    const s = new Socket({ fd: fds.read, readable: true, writable: false });
    s.on('data', (d: Buffer) => this.take(source, d));
    // The pipe stays the supervisor's: an error here costs the launcher's copy of the lines only.
    s.on('error', () => {});
    return s;
  }
}

/** virtiofsd's arguments for one shared directory (pure): the driver's, and the start plan's (runtime/vm-start.ts). */
export function virtiofsdArgs(source: string, socketPath: string): string[] {
  // sandbox=chroot: the namespace sandbox needs CAP_SYS_ADMIN the launcher does not have
  // (and a --cap-drop ALL container would break it); announce_submounts lets the guest see volumes as their own mounts.
  // timeout=0: the guest revalidates names and attributes on every lookup. With cache=auto's
  // default 1 s, a host edit of a bind mount read at once in the guest came back truncated to
  // the old size, and renamed/deleted files stayed readable under their old names
  // (test/e2e/storage.test.ts; docs/storage.md). cache=none would also fix that but makes
  // every open O_DIRECT-like, which refuses shared writable mmap on the guest's 6.1 kernel.
  return [
    `--socket-path=${socketPath}`,
    '-o',
    `source=${source}`,
    '-o',
    'cache=auto',
    '-o',
    'timeout=0',
    '-o',
    'sandbox=chroot',
    '-o',
    'announce_submounts',
    '-o',
    'xattr',
  ];
}

function startVirtiofsd(binary: string, source: string, socketPath: string, stderr: StderrSink): ChildProcess {
  const child = spawn(binary, virtiofsdArgs(source, socketPath), {
    stdio: ['ignore', 'ignore', stderr.stdio('virtiofsd')],
  });
  stderr.attach(child, 'virtiofsd');
  return child;
}

class QemuVm implements RunningVm {
  readonly exited: Promise<VmExit>;
  private done = false;

  constructor(
    private readonly qemu: ChildProcess,
    private readonly helpers: ChildProcess[],
    private readonly paths: QemuPaths,
    private readonly stderrTail: Tail,
    private readonly stderr: StderrSink,
  ) {
    this.exited = exitOf(qemu).then((e) => {
      this.done = true;
      for (const h of helpers) h.kill('SIGTERM');
      return e;
    });
  }

  get pids(): { vmm: number; helpers: number[] } | undefined {
    const vmm = this.qemu.pid;
    const helpers = this.helpers.map((h) => h.pid);
    if (vmm === undefined || helpers.some((p) => p === undefined)) return undefined;
    return { vmm, helpers: helpers as number[] };
  }

  async connectAgent(signal: AbortSignal): Promise<Socket> {
    return waitUntil(
      'the VM agent socket',
      async () => {
        if (this.done) throw new Error(`qemu exited before the agent channel opened\n${this.diagnostics()}`);
        return tryConnect(this.paths.agentSocket);
      },
      { timeoutMs: SOCKET_TIMEOUT_MS, intervalMs: 5, signal },
    );
  }

  diagnostics(): string {
    let console = '';
    try {
      console = readFileSync(this.paths.consoleLog, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      // No console log: the guest never started or the console went to stderr.
    }
    return [
      `qemu/virtiofsd stderr:\n${this.stderrTail.text().trim()}`,
      console && `guest console (last lines):\n${console}`,
    ]
      .filter(Boolean)
      .join('\n');
  }

  releaseOutput(): void {
    this.stderr.release();
  }

  kill(): void {
    if (!this.done) this.qemu.kill('SIGKILL');
    for (const h of this.helpers) h.kill('SIGKILL');
  }
}

export const makeQemuDriver = (bin: QemuBinaries): VmmDriver => ({
  name: 'qemu',

  checkHost(check: HostCheck): void {
    requireFile(bin.qemu, 'qemu-system-x86_64', 'install the qemu-system-x86 package');
    requireFile(bin.virtiofsd, 'virtiofsd', 'install the qemu-system-common package');
    requireFile(check.kernel, 'guest kernel', 'check RUNCVM_KERNEL or re-run `runcvm install`');
    requireFile(check.initrd, 'guest initramfs', 'check RUNCVM_KERNEL or re-run `runcvm install`');
  },

  async start(vm: VmSpec): Promise<RunningVm> {
    const paths = qemuPaths(vm.runDir);
    const tail = new Tail();
    const stderr = new StderrSink(tail, vm.output, vm.stderrPipes);
    const helpers = vm.fsShares.map((fs) => startVirtiofsd(bin.virtiofsd, fs.source, paths.fsSocket(fs.tag), stderr));
    try {
      for (const [i, fs] of vm.fsShares.entries()) {
        const h = helpers[i] as ChildProcess;
        await waitUntil(
          `virtiofsd socket for ${fs.tag}`,
          () => {
            if (h.exitCode !== null)
              throw new Error(`virtiofsd for ${fs.source} exited (${h.exitCode}): ${tail.text().trim()}`);
            return existsSync(paths.fsSocket(fs.tag)) ? true : undefined;
          },
          { timeoutMs: SOCKET_TIMEOUT_MS, intervalMs: 5 },
        );
      }
    } catch (e) {
      for (const h of helpers) h.kill('SIGKILL');
      throw e;
    }
    const qemu = spawn(bin.qemu, qemuArgv(vm, paths), {
      stdio: ['ignore', vm.consoleToStderr ? 2 : 'ignore', stderr.stdio('qemu')],
    });
    stderr.attach(qemu, 'qemu');
    const vmHandle = new QemuVm(qemu, helpers, paths, tail, stderr);
    if (vm.hostCpus?.length) {
      try {
        await pinVcpus(paths.qmpSocket, vm.hostCpus, () => qemu.exitCode !== null || qemu.signalCode !== null);
      } catch (e) {
        vmHandle.kill();
        throw new GuestFailure(`--cpuset-cpus: ${describeError(e)}\n${vmHandle.diagnostics()}`);
      }
    }
    return vmHandle;
  },

  openControl: async (relay, label) => qemuControl(await Qmp.open(relay(QMP_RELAY_VERB), { label })),
});

/** QEMU creates its vCPU threads before it serves QMP, so their ids are final once it answers. */
async function pinVcpus(qmpSocket: string, hostCpus: number[], exited: () => boolean): Promise<void> {
  await waitUntil(
    'the QMP socket',
    () => {
      if (exited()) throw new Error('qemu exited before its QMP socket opened');
      return existsSync(qmpSocket) ? true : undefined;
    },
    { timeoutMs: SOCKET_TIMEOUT_MS, intervalMs: 5 },
  );
  const control = qemuControl(await Qmp.connect(qmpSocket));
  try {
    pinThreads(await control.vcpuThreads(), hostCpus);
  } finally {
    control.close();
  }
}

export const qemuDriver = makeQemuDriver({ qemu: QEMU_BINARY, virtiofsd: VIRTIOFSD_BINARY });
