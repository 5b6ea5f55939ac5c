/** `runcvm cache ls|prune`: look at and clean the image rootfs cache (rootfs/cache.ts). */
import { parseArgs } from 'node:util';
import { DEFAULT_CACHE_DIR, ImageCache, mountedByAnyone, parseCacheMax } from '../rootfs/cache.ts';
import { readHostSettings } from '../runtime/host-settings.ts';
import { cacheBuild } from './cache-build.ts';

const USAGE = `usage: runcvm cache ls [--dir DIR]
       runcvm cache build IMAGE [--dir DIR]   build the image's cached ext4 now (a Docker image), with progress
       runcvm cache prune [--max SIZE] [--dir DIR]   evict least-recently-used images not in use until
                                                  the cache holds at most SIZE (default 0: all unused)`;

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export function cacheCommand(argv: string[], prefix = '/opt/runcvm'): number {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: sub === 'build',
    options: { dir: { type: 'string', default: DEFAULT_CACHE_DIR }, max: { type: 'string', default: '0' } },
  });
  const cache = new ImageCache(values.dir as string);
  if (sub === 'build') {
    if (positionals.length !== 1) throw new Error('cache build: give exactly one image (runcvm cache build IMAGE)');
    return cacheBuild(positionals[0] as string, cache, readHostSettings(prefix).cacheMaxBytes, (l) =>
      process.stdout.write(`${l}\n`),
    );
  }
  if (sub === 'ls') {
    const rows = cache.list();
    process.stdout.write('KEY           SIZE        LAST USED                 IN USE  SOURCE\n');
    for (const e of rows) {
      const used = new Date(e.lastUsedMs).toISOString().replace(/\.\d+Z$/, 'Z');
      process.stdout.write(
        `${e.key.slice(0, 12)}  ${mib(e.sizeBytes).padEnd(10)}  ${used.padEnd(24)}  ${(mountedByAnyone(e.file) ? 'yes' : 'no').padEnd(6)}  ${e.source}\n`,
      );
    }
    process.stdout.write(`${rows.length} image(s), ${mib(cache.totalBytes())} in ${cache.dir}\n`);
    return 0;
  }
  if (sub === 'prune') {
    const max = parseCacheMax(values.max, '--max');
    // An explicit prune also takes images just picked by a starting container out of the grace period.
    const evicted = cache.prune(max, (e) => mountedByAnyone(e.file), Number.POSITIVE_INFINITY);
    for (const e of evicted) process.stdout.write(`evicted ${e.key.slice(0, 12)} (${mib(e.sizeBytes)}, ${e.source})\n`);
    process.stdout.write(`${evicted.length} image(s) evicted, ${mib(cache.totalBytes())} left in ${cache.dir}\n`);
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return sub === undefined || sub === '--help' ? 0 : 2;
}
