/**
 * `runcvm doctor`: whether this host can start runcvm containers (src/install/host-checks.ts)
 * and which engines are configured to use runcvm (Docker, containerd's CRI plugin, Podman).
 * It only reads (but --reprobe); every failed check says the command that fixes it, and any
 * failure makes the exit status 1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runcvmVersion } from '../common/version.ts';
import { hostConfigPath, readHostConfig } from '../runtime/host-config.ts';
import { type Check, formatReport, report } from './checks.ts';
import { runcvmHandler } from './containerd.ts';
import { hostChecks } from './host-checks.ts';
import { gatherHostFacts } from './host-facts.ts';
import { PODMAN_CONF_FILES, podmanRuntimesFor } from './podman.ts';
import { reprobeKvm } from './reprobe.ts';

export interface DoctorFacts {
  binary: string;
  installed: boolean;
  kvm?: { usable: boolean; reason: string };
  allowTcg?: boolean;
  docker: { daemonJson?: string; names: string[]; defaultRuntime?: string; live?: string[] };
  containerd: { file: string; exists: boolean; binary?: string; running: boolean }[];
  podman: { installed: boolean; files: { file: string; names: string[] }[] };
}

/** Docker, containerd and Podman registration. Docker is what runcvm is for; the others are optional. */
export function engineChecks(f: DoctorFacts): Check[] {
  const out: Check[] = [];
  const d = f.docker;
  if (d.daemonJson === undefined)
    out.push({
      name: 'docker',
      status: 'fail',
      message: 'not configured (no /etc/docker/daemon.json)',
      fix: 'runcvm install',
    });
  else if (d.names.length === 0)
    out.push({
      name: 'docker',
      status: 'fail',
      message: `not configured (${d.daemonJson} has no runtime with path ${f.binary})`,
      fix: 'runcvm install',
    });
  else {
    const listed = d.live !== undefined && d.names.every((n) => d.live?.includes(n));
    const live =
      d.live === undefined ? 'dockerd not reachable' : listed ? 'dockerd lists it' : 'dockerd does NOT list it yet';
    const def = d.defaultRuntime && d.names.includes(d.defaultRuntime) ? '; it is the default runtime' : '';
    const msg = `configured: runtime ${d.names.map((n) => `"${n}"`).join(', ')} in ${d.daemonJson} (${live})${def}`;
    if (d.live === undefined)
      out.push({ name: 'docker', status: 'warn', message: msg, fix: 'start dockerd (systemctl start docker)' });
    else if (!listed)
      out.push({
        name: 'docker',
        status: 'fail',
        message: msg,
        fix: 'reload dockerd (systemctl reload docker, or kill -HUP its pid)',
      });
    else out.push({ name: 'docker', status: 'ok', message: msg });
  }
  for (const c of f.containerd) {
    const running = c.running ? 'a containerd runs with this config' : 'no running containerd uses this config';
    const fix = `runcvm install --containerd-config ${c.file}`;
    if (!c.exists)
      out.push({ name: 'containerd', status: 'info', message: `not configured (${c.file} does not exist)`, fix });
    else if (c.binary === undefined)
      out.push({
        name: 'containerd',
        status: 'info',
        message: `not configured (${c.file} has no CRI runtime handler "runcvm"; ${running})`,
        fix,
      });
    else if (c.binary !== f.binary)
      out.push({
        name: 'containerd',
        status: 'fail',
        message: `MISCONFIGURED (${c.file}: handler "runcvm" runs "${c.binary}", expected ${f.binary})`,
        fix,
      });
    else
      out.push({
        name: 'containerd',
        status: 'ok',
        message: `configured: CRI runtime handler "runcvm" in ${c.file} (${running}; containerd reads it only at start)`,
      });
  }
  const p = f.podman;
  const named = p.files.filter((x) => x.names.length > 0);
  if (!p.installed) out.push({ name: 'podman', status: 'info', message: 'not installed' });
  else if (named.length === 0)
    out.push({
      name: 'podman',
      status: 'info',
      message: `not configured (no containers.conf names ${f.binary})`,
      fix: 'add the output of `runcvm podman-config` to /etc/containers/containers.conf',
    });
  else
    out.push({
      name: 'podman',
      status: 'ok',
      message: `configured: ${named.map((x) => `runtime ${x.names.map((n) => `"${n}"`).join(', ')} in ${x.file}`).join('; ')}`,
    });
  return out;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Config files of running containerd processes (`--config X`, else the default path). */
function runningContainerdConfigs(): string[] {
  const configs: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const argv = read(`/proc/${pid}/cmdline`)?.split('\0') ?? [];
    if (!/(^|\/)containerd$/.test(argv[0] ?? '')) continue;
    const i = argv.findIndex((a) => a === '--config' || a === '-c');
    configs.push(i >= 0 ? (argv[i + 1] as string) : '/etc/containerd/config.toml');
  }
  return configs;
}

function dockerInfo(): { runtimes: string[]; defaultRuntime: string } | undefined {
  try {
    const out = execFileSync('docker', ['info', '--format', '{{json .Runtimes}}\n{{.DefaultRuntime}}'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    const [runtimes, def] = out.trim().split('\n');
    return { runtimes: Object.keys(JSON.parse(runtimes as string) as object), defaultRuntime: (def ?? '').trim() };
  } catch {
    return undefined;
  }
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function gatherFacts(prefix: string, containerdConfigs: string[]): DoctorFacts {
  const binary = join(prefix, 'bin', 'runcvm-runtime');
  const facts: DoctorFacts = {
    binary,
    installed: existsSync(binary),
    docker: { names: [] },
    containerd: [],
    podman: { installed: hasCommand('podman'), files: [] },
  };
  try {
    const h = readHostConfig(prefix);
    facts.kvm = h.kvm;
    facts.allowTcg = h.allowTcg;
  } catch {
    // Not installed: said above.
  }
  const dj = read('/etc/docker/daemon.json');
  if (dj !== undefined) {
    facts.docker.daemonJson = '/etc/docker/daemon.json';
    try {
      const cfg = JSON.parse(dj) as { runtimes?: Record<string, { path?: string }>; 'default-runtime'?: string };
      facts.docker.names = Object.entries(cfg.runtimes ?? {})
        .filter(([, r]) => r.path === binary)
        .map(([n]) => n);
    } catch {
      facts.docker.names = [];
    }
  }
  const info = dockerInfo();
  if (info) {
    facts.docker.live = info.runtimes;
    facts.docker.defaultRuntime = info.defaultRuntime;
  }
  const running = runningContainerdConfigs();
  for (const file of [...new Set(['/etc/containerd/config.toml', ...containerdConfigs])]) {
    const text = read(file);
    facts.containerd.push({
      file,
      exists: text !== undefined,
      binary: text === undefined ? undefined : runcvmHandler(text, 'runcvm')?.binary,
      running: running.includes(file),
    });
  }
  const dropIns = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.conf'))
          .map((f) => join(dir, f))
      : [];
  const podmanFiles = [
    ...PODMAN_CONF_FILES,
    ...dropIns('/etc/containers/containers.conf.d'),
    ...(process.env.CONTAINERS_CONF ? [process.env.CONTAINERS_CONF] : []),
  ];
  for (const file of podmanFiles) {
    const text = read(file);
    if (text !== undefined) facts.podman.files.push({ file, names: podmanRuntimesFor(text, binary) });
  }
  return facts;
}

export function doctor(argv: string[], defaultPrefix = '/opt/runcvm'): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      prefix: { type: 'string', default: defaultPrefix },
      'containerd-config': { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
      reprobe: { type: 'boolean', default: false },
    },
  });
  const prefix = values.prefix as string;
  if (values.reprobe) {
    const v = reprobeKvm(prefix);
    if (!values.json)
      console.log(
        `KVM probe: ${v.usable ? 'usable' : 'NOT usable'} (${v.reason}); recorded in ${hostConfigPath(prefix)}`,
      );
  }
  const checks = [
    ...hostChecks(gatherHostFacts(prefix)),
    ...engineChecks(gatherFacts(prefix, values['containerd-config'] as string[])),
  ];
  const r = report(runcvmVersion(), prefix, checks);
  process.stdout.write(values.json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r));
  return r.ok ? 0 : 1;
}
