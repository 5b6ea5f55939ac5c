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
  verb: string;
  bundle: string;
  /** exec: the process.json containerd wrote. */
  process?: string;
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

/** Flags of `create` and `exec` (as containerd-shim-runc-v2 uses them) that take a value or not. */
const VERB = {
  bundle: { type: 'string', short: 'b' },
  process: { type: 'string', short: 'p' },
  detach: { type: 'boolean', short: 'd' },
  'pid-file': { type: 'string' },
  'console-socket': { type: 'string' },
  'preserve-fds': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
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
    verb,
    bundle: (rest.values.bundle as string | undefined) ?? cwd,
    process: rest.values.process as string | undefined,
    containerId: rest.positionals[0] ?? '',
  };
}
