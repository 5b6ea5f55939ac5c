/**
 * Every `runcvm` command with its one-line summary and its full help, so `runcvm help`,
 * `runcvm help COMMAND` and `runcvm COMMAND --help` say the same thing and a new command
 * cannot ship without help (help.test.ts checks each entry of main's dispatch table).
 */
export interface CommandHelp {
  summary: string;
  usage: string;
  /** Lines after the usage: options and notes. */
  details: string[];
  /** Called by the runtime machinery, not by people: listed last. */
  internal?: boolean;
}

export const COMMANDS: Readonly<Record<string, CommandHelp>> = {
  install: {
    summary: 'install runcvm under a prefix and register it with dockerd',
    usage:
      'runcvm install [--prefix DIR] [--name NAME] [--guest DIR] [--allow-tcg | --allow-tcg-if-no-kvm] [--containerd | --containerd-config FILE] [--coverage-dir DIR]',
    details: [
      '--prefix DIR                 where to install (default /opt/runcvm)',
      '--name NAME                  the runtime name in /etc/docker/daemon.json (default runcvm)',
      "--guest DIR                  the guest kernel and initramfs to install (default: the build's or the package's)",
      '--allow-tcg                  let containers run under QEMU TCG (software emulation) when KVM is unusable',
      '--allow-tcg-if-no-kvm        the same, only when the KVM probe fails (development and CI hosts)',
      '--containerd                 also add the CRI runtime handler "runcvm" to /etc/containerd/config.toml',
      '--containerd-config FILE     the same, in FILE',
      '--coverage-dir DIR           development: every runcvm Node process writes V8 coverage to DIR',
      'Installing the same build twice changes nothing and does not reload dockerd.',
    ],
  },
  uninstall: {
    summary: 'unregister runcvm from dockerd (and containerd) and remove its prefix',
    usage: 'runcvm uninstall [--prefix DIR] [--name NAME] [--containerd-config FILE]',
    details: [
      '--prefix DIR, --name NAME   as given to install (default: the install this command runs from, under the name it recorded)',
      '--containerd-config FILE     the containerd config to remove the handler from (default /etc/containerd/config.toml)',
    ],
  },
  doctor: {
    summary: 'check everything a container start needs; exit 1 when something is missing',
    usage: 'runcvm doctor [--prefix DIR] [--json] [--reprobe] [--containerd-config FILE]...',
    details: [
      '--json                       one JSON object (checks with status ok|info|warn|fail and fix hints)',
      '--reprobe                    boot a test VM under KVM again and record the verdict in <prefix>/etc/host.json',
      '--containerd-config FILE     also check this containerd config (repeatable)',
      'Exit status: 0 when every check is ok, info or warn; 1 when one failed (each failure says how to fix it).',
    ],
  },
  ps: {
    summary: 'list the runcvm VMs running on this host',
    usage: 'runcvm ps [--json]',
    details: [
      'Columns: container id, Docker name, backend, accelerator, vCPUs, boot memory, uptime, and the host',
      'processes of the VM (launcher, VMM, virtiofsd, diod ...) with their PIDs. Reads /proc: run it as root.',
    ],
  },
  debug: {
    summary: "a shell or a command in a running VM, outside the workload's namespaces (host root only)",
    usage: 'runcvm debug [--tool FILE] CONTAINER [CMD...] | runcvm debug --log CONTAINER',
    details: [
      "Runs in the guest's root PID and mount namespaces, beside the agent: ps shows every guest process",
      "(the agent is PID 1), /proc/mounts the agent's mounts, dmesg the guest kernel's log. The program is",
      "the host's static busybox (busybox-static), sent for this one process and run from memory: the",
      "image needs no shell and nothing is written to it. CMD runs through busybox's sh (its applets first,",
      "then the image's PATH). Exit status: CMD's, as docker exec.",
      '--tool FILE                  another static x86-64 program to send instead of /bin/busybox',
      "--log                        print the container's host log (/var/log/runcvm/<id>/runcvm.log and its 2",
      '                             rotated files: runtime, launcher, VMM, virtiofsd, diod and agent lines), also',
      '                             after the container is gone (kept 7 days)',
    ],
  },
  metrics: {
    summary: 'Prometheus metrics of every running runcvm VM (host side and the guest)',
    usage: 'runcvm metrics [--listen HOST:PORT]',
    details: [
      '--listen HOST:PORT           serve them on http://HOST:PORT/metrics until SIGINT/SIGTERM (:PORT = all addresses)',
      'Metrics, each labelled container="<id>": runcvm_vm_info (name, backend, accel labels), runcvm_vm_vcpus,',
      'runcvm_vm_memory_bytes, runcvm_vm_uptime_seconds, runcvm_vm_host_cpu_seconds_total, runcvm_vm_host_rss_bytes,',
      'runcvm_vm_host_processes; and runcvm_vms. From the VMM and the launcher: runcvm_vm_boot_seconds,',
      'runcvm_vm_vcpu_seconds_total (vcpu label), runcvm_vm_guest_memory_{total,free,available,cached,used}_bytes,',
      'runcvm_vm_guest_major_faults_total, runcvm_vm_guest_stats_age_seconds, runcvm_vm_balloon_bytes,',
      'runcvm_vm_exits_total (KVM only). Each only where known (docs/troubleshooting.md, "Metrics"). Host root.',
    ],
  },
  version: {
    summary: 'print the versions of runcvm, its guest agent and the runc it wraps',
    usage: "runcvm version [--prefix DIR]   (runcvm --version prints runcvm's own version only)",
    details: [],
  },
  help: {
    summary: "show the commands, or one command's help",
    usage: 'runcvm help [COMMAND]',
    details: [],
  },
  cache: {
    summary: 'build, list or evict cached image rootfs files (RUNCVM_ROOTFS=image)',
    usage:
      'runcvm cache ls [--dir DIR] | runcvm cache build IMAGE [--dir DIR] | runcvm cache prune [--max SIZE] [--dir DIR]',
    details: [
      'build warms the cache for a Docker image (overlay2) before its first container, showing each step',
      'prune evicts least-recently-used images not in use until the cache holds at most SIZE (default 0: all unused)',
    ],
  },
  'podman-config': {
    summary: 'print the containers.conf lines that register runcvm with Podman',
    usage: 'runcvm podman-config',
    details: [],
  },
  runtime: {
    summary: 'the OCI runtime entry for create, exec, update, delete (called by runcvm-runtime)',
    usage: 'runcvm runtime [runc global options] create|exec|update|delete ...',
    details: ["Takes runc's command line; every other verb goes to runc straight from the runcvm-runtime dispatcher."],
    internal: true,
  },
  launcher: {
    summary: "the container's process 1 behind runcvm-init (started by runc)",
    usage: 'runcvm launcher [--writeback]',
    details: [],
    internal: true,
  },
  'qmp-relay': {
    summary: "stdio <-> QEMU's QMP socket, run in the container by `runtime update`",
    usage: 'runcvm qmp-relay',
    details: [],
    internal: true,
  },
};

export function commandHelp(name: string): string | undefined {
  const c = COMMANDS[name];
  if (!c) return undefined;
  return `${[
    `${c.summary}`,
    '',
    `usage: ${c.usage}`,
    ...(c.details.length ? ['', ...c.details.map((d) => `  ${d}`)] : []),
  ].join('\n')}\n`;
}

export function overview(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  const row = (n: string) => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary}`;
  return `${[
    'usage: runcvm COMMAND [OPTIONS]      runcvm --version      runcvm help COMMAND',
    '',
    'Commands:',
    ...names.filter((n) => !COMMANDS[n]?.internal).map(row),
    '',
    'Called by the runtime machinery:',
    ...names.filter((n) => COMMANDS[n]?.internal).map(row),
  ].join('\n')}\n`;
}

/** `CMD --help` / `-h`: anywhere for option-only commands, first only where arguments pass through. */
export function wantsHelp(cmd: string, rest: readonly string[]): boolean {
  const passThrough = cmd === 'runtime' || cmd === 'debug';
  return passThrough ? rest[0] === '--help' || rest[0] === '-h' : rest.includes('--help') || rest.includes('-h');
}
