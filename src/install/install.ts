/**
 * `runcvm install` / `runcvm uninstall`: everything under one prefix, the runtime registered in
 * daemon.json (other keys kept), dockerd reloaded. Installing the same build twice changes
 * nothing and does not reload dockerd.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { runcvmVersion } from '../common/version.ts';
import { OptionError } from '../contracts/errors.ts';
import { DEFAULT_KERNEL, KERNELS, type KernelName } from '../contracts/kinds.ts';
import { type HostConfig, hostConfigPath } from '../runtime/host-config.ts';
import { defaultSettingsFile, hostSettingsPath, readHostSettings } from '../runtime/host-settings.ts';
import { configureContainerd, SHIM_BINARY, unconfigureContainerd } from './containerd.ts';
import { formatDaemonJson, parseDaemonJson, withoutRuntime, withRuntime } from './daemon-json.ts';
import { reloadDockerd } from './dockerd.ts';
import { probeKvm } from './kvm-probe.ts';
import { podmanConfig } from './podman.ts';
import { STANDARD_PREFIX } from './prefix.ts';
import { buildRuntimeRoot } from './runtime-root.ts';

export const RUNTIME_NAME = 'runcvm';
const DAEMON_JSON = '/etc/docker/daemon.json';
const DEFAULT_CONTAINERD_CONFIG = '/etc/containerd/config.toml';

function readOr(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Writes only when the content differs; returns whether it did. */
function put(path: string, data: Buffer | string, mode = 0o644): boolean {
  const next = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const cur = readOr(path);
  if (cur?.equals(next)) return false;
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, next, mode);
  return true;
}

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Host TSC rate: microvm guests under TCG must be told it, or they can hang calibrating the TSC. */
function hostTscKhz(): number | undefined {
  try {
    const log = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const m =
      /tsc: Refined TSC clocksource calibration: ([\d.]+) MHz/.exec(log) ?? /tsc: Detected ([\d.]+) MHz/.exec(log);
    if (m?.[1]) return Math.round(Number.parseFloat(m[1]) * 1000);
  } catch {
    // No dmesg access: fall back to cpuinfo, which equals the TSC rate on VMs and most servers.
  }
  const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1] ? Math.round(Number.parseFloat(m[1]) * 1000) : undefined;
}

/** `iptables` resolved through alternatives to a binary under /usr, plus the applet name for multi-call binaries. */
function iptablesCommand(): string[] | undefined {
  const found = which('iptables');
  if (!found) return undefined;
  const real = realpathSync(found);
  if (!real.startsWith('/usr/')) return undefined;
  return /xtables-(nft|legacy)-multi$/.test(real) ? [real, 'iptables'] : [real];
}

/**
 * Where guest/build.sh leaves each kernel's files: Debian's at the top of its output (the
 * layout older builds had), the runcvm kernel's under runcvm/. Every kernel of KERNELS is
 * installed, so RUNCVM_KERNEL can pick any of them per container.
 */
const GUEST_LAYOUT: Record<KernelName, { dir: string; files: string[] }> = {
  runcvm: { dir: 'runcvm', files: ['vmlinux', 'initramfs.cpio', 'kernel.release', 'config'] },
  debian: { dir: '.', files: ['vmlinux', 'vmlinuz', 'initramfs.cpio', 'kernel.release'] },
};

/** The source path of every file of every kernel, by kernel: all of them, or an error naming the missing one. */
export function guestFiles(source: string): Record<KernelName, Record<string, string>> {
  const out = {} as Record<KernelName, Record<string, string>>;
  for (const kernel of KERNELS) {
    const { dir, files } = GUEST_LAYOUT[kernel];
    out[kernel] = {};
    for (const f of files) {
      const p = join(source, dir, f);
      if (!existsSync(p))
        throw new Error(`guest artefact ${p} (kernel ${kernel}) is missing: run guest/build.sh first`);
      out[kernel][f] = p;
    }
  }
  return out;
}

/** The package's guest beside the bundle, else a source tree's build/guest (dist/../build/guest). */
function defaultGuestDir(bundleDir: string): string {
  const packaged = join(bundleDir, 'guest');
  return existsSync(join(packaged, 'vmlinux')) ? packaged : join(dirname(bundleDir), 'build', 'guest');
}

/** The KVM probe boots a VM (up to 15 s where KVM hangs): reuse its verdict for the same kernel. */
function previousKvmVerdict(prefix: string): HostConfig['kvm'] | undefined {
  try {
    return (JSON.parse(readFileSync(hostConfigPath(prefix), 'utf8')) as Partial<HostConfig>).kvm;
  } catch {
    return undefined;
  }
}

function runtimeName(name: string): string {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(name))
    throw new Error(
      `--name: invalid runtime name "${name}" (lowercase letters, digits, - and _, starting with a letter)`,
    );
  return name;
}

/** --coverage-dir: an absolute directory (created 0700), never a path through a symlink. */
function coverageDir(dir: string): string {
  if (!isAbsolute(dir) || /['\n]/.test(dir))
    throw new OptionError(`--coverage-dir: "${dir}" must be an absolute path without quotes or newlines`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (realpathSync(dir) !== resolve(dir))
    throw new OptionError(`--coverage-dir: "${dir}" goes through a symbolic link; give the real path`);
  return resolve(dir);
}

function adminWrapper(node: string, lib: string, coverage: string | undefined): string {
  const env = coverage ? `NODE_V8_COVERAGE='${coverage}' ` : '';
  return `#!/bin/sh\n${env}exec '${node}' '${lib}' "$@"\n`;
}

export async function install(argv: string[], bundleFile: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prefix: { type: 'string', default: STANDARD_PREFIX },
      // A second install under another name and prefix lets a development tree be tested
      // without replacing the runcvm that other containers on the host use.
      name: { type: 'string', default: RUNTIME_NAME },
      'allow-tcg': { type: 'boolean', default: false },
      'allow-tcg-if-no-kvm': { type: 'boolean', default: false },
      guest: { type: 'string' },
      containerd: { type: 'boolean', default: false },
      'containerd-config': { type: 'string' },
      'coverage-dir': { type: 'string' },
    },
  });
  const prefix = values.prefix as string;
  const name = runtimeName(values.name as string);
  // Beside the bundle: a build's dist/ and the Debian package's /usr/lib/runcvm both hold the
  // dispatcher template, the C programs and (the package) the guest; no source tree is needed.
  const bundleDir = dirname(bundleFile);
  const guest = guestFiles(values.guest ?? defaultGuestDir(bundleDir));
  const runc = which('runc');
  if (!runc) throw new Error('runc not found in PATH: install the runc package (Docker needs it too)');
  const lib = join(prefix, 'lib', 'runcvm.mjs');
  let kernelChanged = false;
  for (const kernel of KERNELS) {
    for (const [file, src] of Object.entries(guest[kernel]))
      kernelChanged = put(join(prefix, 'kernels', kernel, file), readFileSync(src)) || kernelChanged;
  }
  // The probe boots the kernel containers get by default.
  const probeKernel = guest[DEFAULT_KERNEL];
  const kvm =
    (!kernelChanged && previousKvmVerdict(prefix)) ||
    probeKvm(probeKernel.vmlinux as string, probeKernel['initramfs.cpio'] as string);
  const allowTcg = values['allow-tcg'] === true || (values['allow-tcg-if-no-kvm'] === true && !kvm.usable);
  const rt = buildRuntimeRoot(join(prefix, 'rt'));
  const host: HostConfig = {
    runc,
    node: process.execPath,
    allowTcg,
    kvm,
    tscKhz: hostTscKhz(),
    iptables: iptablesCommand(),
    hostDirs: rt.hostDirs,
    runtimeName: name,
    ...(values['coverage-dir'] !== undefined ? { coverageDir: coverageDir(values['coverage-dir']) } : {}),
  };
  const dispatcher = readFileSync(join(bundleDir, 'dispatcher.sh'), 'utf8')
    .replace('@RUNC@', runc)
    .replace('@NODE@', process.execPath)
    .replace('@LIB@', lib)
    .replace('@EXEC_PREP@', join(prefix, 'bin', 'runcvm-exec-prep'))
    .replace('@VERSION@', runcvmVersion())
    .replace('@COVERAGE@', host.coverageDir ?? '')
    .replace('@GENERATED@', 'Generated');
  let changed = kernelChanged;
  changed = put(lib, readFileSync(bundleFile)) || changed;
  // The bundle's source map (a build has one; the package need not): coverage maps back through it.
  if (existsSync(`${bundleFile}.map`)) changed = put(`${lib}.map`, readFileSync(`${bundleFile}.map`)) || changed;
  changed =
    put(join(prefix, 'bin', 'runcvm-init'), readFileSync(join(dirname(bundleFile), 'runcvm-init')), 0o755) || changed;
  changed =
    put(join(prefix, 'bin', 'runcvm-exec'), readFileSync(join(dirname(bundleFile), 'runcvm-exec')), 0o755) || changed;
  changed =
    put(join(prefix, 'bin', 'runcvm-exec-prep'), readFileSync(join(dirname(bundleFile), 'runcvm-exec-prep')), 0o755) ||
    changed;
  changed =
    put(
      join(prefix, 'bin', 'runcvm-supervisor'),
      readFileSync(join(dirname(bundleFile), 'runcvm-supervisor')),
      0o755,
    ) || changed;
  // The CRI handler's shim (src/shim): containerd starts it only where --containerd registered it.
  changed =
    put(join(prefix, 'bin', SHIM_BINARY), readFileSync(join(dirname(bundleFile), SHIM_BINARY)), 0o755) || changed;
  changed = put(join(prefix, 'bin', 'runcvm-runtime'), dispatcher, 0o755) || changed;
  changed = put(join(prefix, 'bin', 'runcvm'), adminWrapper(process.execPath, lib, host.coverageDir), 0o755) || changed;
  changed = put(hostConfigPath(prefix), `${JSON.stringify(host, null, 2)}\n`) || changed;
  // The administrator's settings are theirs: written once with the defaults, then only checked.
  if (!existsSync(hostSettingsPath(prefix)))
    changed = put(hostSettingsPath(prefix), defaultSettingsFile(), 0o644) || changed;
  readHostSettings(prefix);

  const current = readOr(DAEMON_JSON)?.toString('utf8');
  const next = formatDaemonJson(
    withRuntime(parseDaemonJson(current, DAEMON_JSON), name, join(prefix, 'bin', 'runcvm-runtime')),
  );
  const daemonChanged =
    current === undefined || JSON.stringify(JSON.parse(current)) !== JSON.stringify(JSON.parse(next));
  if (daemonChanged) put(DAEMON_JSON, next);
  // containerd (CRI runtime handler "runcvm") only when asked: --containerd or --containerd-config FILE.
  const containerdFile = values['containerd-config'] ?? (values.containerd ? DEFAULT_CONTAINERD_CONFIG : undefined);
  const containerdChanged =
    containerdFile !== undefined && configureContainerd(containerdFile, join(prefix, 'bin', SHIM_BINARY));
  if (containerdChanged)
    console.log(
      `${containerdFile}: added CRI runtime handler "runcvm" (restart containerd to load it; see docs/engines.md)`,
    );
  if (!changed && !daemonChanged) {
    console.log(`runcvm is already installed in ${prefix}: nothing changed`);
    return 0;
  }
  console.log(`runcvm installed in ${prefix} (runc ${runc}, node ${process.execPath})`);
  console.log(`KVM: ${kvm.usable ? 'usable' : 'NOT usable'} (${kvm.reason})`);
  if (!kvm.usable) {
    console.log(
      host.allowTcg
        ? 'NOTE: without KVM, runcvm VMs on this host run under QEMU TCG software emulation: it works, but every boot and all guest CPU work are many times slower.'
        : 'WARNING: without KVM, runcvm containers fail unless run with -e RUNCVM_ACCEL=tcg (or reinstall with --allow-tcg).',
    );
  }
  if (daemonChanged) console.log(`${DAEMON_JSON}: registered runtime "${name}"`);
  console.log(await reloadDockerd(name, true));
  console.log(
    `Podman: add to /etc/containers/containers.conf, then use podman run --runtime ${name}:\n${podmanConfig(name, join(prefix, 'bin', 'runcvm-runtime'))}`,
  );
  return 0;
}

/**
 * Removes the install at `prefix` (default: the one this command runs from, so a side install's
 * own `bin/runcvm uninstall` never removes the standard one) under the runtime name that install
 * recorded; a --name that contradicts the record is refused before anything changes.
 */
/** The runtime name an install recorded in its host.json (installs before the record: none). */
function recordedRuntimeName(prefix: string): string | undefined {
  const text = readOr(hostConfigPath(prefix))?.toString('utf8');
  if (text === undefined) return undefined;
  try {
    const name = (JSON.parse(text) as Partial<HostConfig>).runtimeName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

export async function uninstall(argv: string[], ownPrefix = STANDARD_PREFIX): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prefix: { type: 'string', default: ownPrefix },
      name: { type: 'string' },
      'containerd-config': { type: 'string' },
    },
  });
  const prefix = values.prefix as string;
  const recorded = recordedRuntimeName(prefix);
  if (values.name !== undefined && recorded !== undefined && values.name !== recorded)
    throw new OptionError(
      `uninstall --name ${values.name}: ${prefix} is installed as runtime "${recorded}" (pass --name ${recorded}, or the --prefix of the install named ${values.name})`,
    );
  const name = runtimeName(values.name ?? recorded ?? RUNTIME_NAME);
  const containerdFile = values['containerd-config'] ?? DEFAULT_CONTAINERD_CONFIG;
  if (unconfigureContainerd(containerdFile))
    console.log(`${containerdFile}: removed CRI runtime handler "runcvm" (restart containerd)`);
  const current = readOr(DAEMON_JSON)?.toString('utf8');
  if (current !== undefined) {
    const cfg = parseDaemonJson(current, DAEMON_JSON);
    if (cfg.runtimes?.[name]) {
      put(DAEMON_JSON, formatDaemonJson(withoutRuntime(cfg, name)));
      console.log(`${DAEMON_JSON}: removed runtime "${name}"`);
      console.log(await reloadDockerd(name, false));
    }
  }
  if (existsSync(prefix)) {
    rmSync(prefix, { recursive: true, force: true });
    console.log(`removed ${prefix}`);
  }
  return 0;
}
