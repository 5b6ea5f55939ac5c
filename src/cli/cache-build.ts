/**
 * `runcvm cache build IMAGE`: warms the image cache (RUNCVM_ROOTFS=image) before the first
 * container, so that container's create does not spend seconds building the image's ext4. It
 * says each step as it goes (layers and their size, the build, the result with its duration);
 * the key is the one create computes, so the next create finds the file.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import type { ImageCache } from '../rootfs/cache.ts';
import { imageFromInspect } from '../rootfs/image-chain.ts';
import { cacheImageLayers, cacheKeyOf } from '../rootfs/image-root.ts';

function duBytes(dirs: readonly string[]): number | undefined {
  try {
    const out = execFileSync('du', ['-s', '-b', '-c', ...dirs], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 120_000,
    });
    return Number.parseInt(out.trim().split('\n').at(-1) ?? '', 10);
  } catch {
    return undefined;
  }
}

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(1)} MiB`;

export function cacheBuild(image: string, cache: ImageCache, cacheMax: number, say: (line: string) => void): number {
  if (!image || image.startsWith('-')) throw new Error('cache build: give an image name (runcvm cache build IMAGE)');
  let inspected: unknown;
  try {
    inspected = (
      JSON.parse(
        execFileSync('docker', ['image', 'inspect', '--', image], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        }),
      ) as unknown[]
    )[0];
  } catch (e) {
    const why = ((e as { stderr?: string }).stderr ?? (e as Error).message).trim();
    throw new Error(`cache build: docker image inspect ${image}: ${why}`);
  }
  const img = imageFromInspect(inspected);
  const layers = img.layers.map((l) => realpathSync(l));
  const size = duBytes(layers);
  say(
    `[1/3] ${image} (${img.id.slice(7, 19)}): ${layers.length} layer(s)${size === undefined ? '' : `, ${mib(size)}`}`,
  );
  const { key, source } = cacheKeyOf(img.chainId, layers);
  const t0 = Date.now();
  const cached = cache.list().some((e) => e.key === key);
  say(
    cached
      ? `[2/3] found in ${cache.dir}`
      : `[2/3] building the ext4 image (mkfs.ext4 -d from the merged layers) into ${cache.dir} ...`,
  );
  const r = cacheImageLayers(cache, key, `${image} ${source}`, layers, cacheMax);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const entry = cache.list().find((e) => e.key === key);
  const built = entry ? `${key.slice(0, 12)}, ${mib(entry.sizeBytes)}` : key.slice(0, 12);
  say(r.built ? `[3/3] cached ${built} in ${secs} s: ${r.file}` : `[3/3] already cached: ${built} (${r.file})`);
  return 0;
}
