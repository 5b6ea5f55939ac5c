/**
 * Look the workload's command up in the image before the VM exists, the way runc does at
 * create: Docker turns runc's "executable file not found" / "no such file or directory" text
 * into exit status 127 and "permission denied" into 126, and only a create-time error gives
 * `docker run` that behaviour. The guest agent repeats the check at exec time as a fallback.
 */
import { statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { resolveInRoot } from '../common/resolve-in-root.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function isExecutable(hostPath: string): boolean | undefined {
  try {
    const st = statSync(hostPath);
    return !st.isDirectory() && (st.mode & 0o111) !== 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * Returns null when the command can run (or cannot be judged from the image alone because it
 * lies under a mount), else runc's error text.
 */
export function lookupExecError(
  rootfs: string,
  name: string,
  pathEnv: string | undefined,
  cwd: string,
  mountDestinations: readonly string[],
): string | null {
  const underMount = (p: string) =>
    mountDestinations.some((d) => p === d || p.startsWith(d.endsWith('/') ? d : `${d}/`));
  const check = (p: string) => {
    const abs = posix.resolve(cwd, p);
    if (underMount(abs)) return true;
    return isExecutable(join(rootfs, resolveInRoot(rootfs, abs)));
  };
  if (name.includes('/')) {
    const ok = check(name);
    if (ok === undefined) return `exec: "${name}": stat ${name}: no such file or directory`;
    return ok ? null : `exec: "${name}": permission denied`;
  }
  for (const dir of (pathEnv ?? DEFAULT_PATH).split(':')) {
    if (check(posix.join(dir || '.', name)) === true) return null;
  }
  return `exec: "${name}": executable file not found in $PATH`;
}
