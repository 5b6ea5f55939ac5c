/**
 * runc's command line as containerd-shim-runc-v2 spells it: global flags, the verb, its flags,
 * the container id. We only read what we need and always pass the argv to runc unchanged.
 */
import { parseArgs } from 'node:util';

export interface RuntimeArgs {
  /** runc's state root (--root), where `runc state` finds the container. */
  root?: string;
  log?: string;
  logFormat?: string;
  /** Everything before the verb, verbatim: what runcvm passes on when it calls runc itself. */
  globalArgv: string[];
  verb: string;
  bundle: string;
  /** exec: the process.json containerd wrote. */
  process?: string;
  /** create: where runc writes the sandbox init's pid (--pid-file). */
  pidFile?: string;
  /** update: --resources (a file, or - for stdin) and the individual resource flags. */
  resources?: string;
  updateFlags?: UpdateFlags;
  containerId: string;
}

const GLOBAL = {
  root: { type: 'string' },
  log: { type: 'string' },
  'log-format': { type: 'string' },
  criu: { type: 'string' },
  rootless: { type: 'string' },
  debug: { type: 'boolean' },
  'systemd-cgroup': { type: 'boolean' },
} as const;

/** runc update's flags that take a value (all of them). */
const UPDATE_FLAGS = [
  'memory',
  'memory-swap',
  'memory-reservation',
  'kernel-memory',
  'kernel-memory-tcp',
  'cpu-period',
  'cpu-quota',
  'cpu-share',
  'cpu-rt-period',
  'cpu-rt-runtime',
  'cpuset-cpus',
  'cpuset-mems',
  'blkio-weight',
  'pids-limit',
  'l3-cache-schema',
  'mem-bw-schema',
] as const;

export type UpdateFlags = Partial<Record<(typeof UPDATE_FLAGS)[number], string>>;

/** Flags of `create`, `exec` and `update` (as containerd-shim-runc-v2 uses them) that take a value or not. */
const VERB = {
  bundle: { type: 'string', short: 'b' },
  process: { type: 'string', short: 'p' },
  detach: { type: 'boolean', short: 'd' },
  'pid-file': { type: 'string' },
  'console-socket': { type: 'string' },
  'preserve-fds': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
  resources: { type: 'string', short: 'r' },
  ...Object.fromEntries(UPDATE_FLAGS.map((f) => [f, { type: 'string' }])),
} as const;

export function parseRuntimeArgs(argv: string[], cwd: string): RuntimeArgs {
  const verbAt = (() => {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      if (!a.startsWith('-')) return i;
      const name = a.replace(/^--?/, '').split('=')[0] as keyof typeof GLOBAL;
      if (!a.includes('=') && GLOBAL[name]?.type === 'string') i++;
    }
    return -1;
  })();
  if (verbAt < 0) throw new Error('runcvm-runtime: no command given');
  const globals = parseArgs({ args: argv.slice(0, verbAt), options: GLOBAL, strict: false }).values;
  const verb = argv[verbAt] as string;
  const rest = parseArgs({ args: argv.slice(verbAt + 1), options: VERB, strict: false, allowPositionals: true });
  return {
    root: globals.root as string | undefined,
    log: globals.log as string | undefined,
    logFormat: globals['log-format'] as string | undefined,
    globalArgv: argv.slice(0, verbAt),
    verb,
    bundle: (rest.values.bundle as string | undefined) ?? cwd,
    process: rest.values.process as string | undefined,
    ...(typeof rest.values['pid-file'] === 'string' ? { pidFile: rest.values['pid-file'] } : {}),
    ...(verb === 'update'
      ? {
          resources: rest.values.resources as string | undefined,
          updateFlags: Object.fromEntries(
            UPDATE_FLAGS.flatMap((f) => (typeof rest.values[f] === 'string' ? [[f, rest.values[f]]] : [])),
          ),
        }
      : {}),
    containerId: rest.positionals[0] ?? '',
  };
}
