/** Helpers shared by the benchmark parts. */
import { spawnSync } from 'node:child_process';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export function docker(args: string[], timeoutMs = 600_000): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Builds an image from test/images/<dir> unless it exists: scripts/build-test-images.sh builds
 * them, and a benchmark must not replace an image other runs on the host use.
 */
export function ensureImage(name: string, dir: string): string {
  if (spawnSync('docker', ['image', 'inspect', name], { stdio: 'ignore' }).status === 0) return name;
  docker(['build', '-q', '-t', name, new URL(`../test/images/${dir}`, import.meta.url).pathname]);
  return name;
}
