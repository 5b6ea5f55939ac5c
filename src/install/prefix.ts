/**
 * The prefix an admin command works on by default: the one it is installed in (the bundle is
 * <prefix>/lib/runcvm.mjs), so /opt/runcvm-dev/bin/runcvm doctor checks /opt/runcvm-dev; run from
 * a source tree's dist/, the standard /opt/runcvm.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const STANDARD_PREFIX = '/opt/runcvm';

export function defaultPrefix(bundleFile: string): string {
  const own = dirname(dirname(bundleFile));
  return existsSync(join(own, 'bin', 'runcvm-runtime')) && existsSync(join(own, 'etc', 'host.json'))
    ? own
    : STANDARD_PREFIX;
}
