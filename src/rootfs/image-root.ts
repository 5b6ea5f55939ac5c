/**
 * RUNCVM_ROOTFS=image at `create`: the drives the guest stacks into its root overlay.
 *   base.ext4   the image's layers merged, from the shared cache (built on a miss)
 *   init.ext4   Docker's per-container init layer (hosts, hostname, .dockerenv), rebuilt
 *   diff.ext4   the container's own layer as Docker keeps it (earlier runs, docker cp), rebuilt
 *   upper.ext4  the guest's writes; emptied by the guest's write-back at a clean stop, kept when
 *               the VM was killed so nothing is lost
 * The per-container files live beside Docker's diff dir (<layer>/runcvm/), so `docker rm`, which
 * removes the layer dir, removes them too.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ImageCache } from './cache.ts';
import { emptyExt4, ext4FromDir, ext4FromLayers } from './ext4.ts';
import { dockerChainId, readOverlayLayers } from './overlay-layers.ts';

/** Bump when the way base images are built changes: old entries are then never served. */
const FORMAT = 'runcvm-image-v1';
/** Sparse: only what the guest writes takes space. */
export const UPPER_SIZE_BYTES = 64 * 1024 ** 3;

export interface ImageRootFiles {
  /** Host dir with the per-container drives (bound into the launcher's root). */
  dir: string;
  /** Host path of the cached base image (bound read-only over <dir>/base.ext4). */
  baseFile: string;
  /** Drive file names in dir, top layer first; base.ext4 is last. */
  lowers: string[];
  upper: string;
  cacheKey: string;
  cacheBuilt: boolean;
}

export function cacheKeyOf(chainId: string | undefined, imageLayers: readonly string[]): { key: string; source: string } {
  const source = chainId ?? `layers ${imageLayers.join(':')}`;
  return { key: createHash('sha256').update(`${FORMAT}\n${source}`).digest('hex'), source };
}

function hasEntries(dir: string): boolean {
  try {
    return readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** The image name as the user typed it (Docker's config.v2.json), for `runcvm cache ls` only. */
function dockerImageName(rootPath: string, containerId: string): string | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(dirname(dirname(dirname(rootPath))), 'containers', containerId, 'config.v2.json'), 'utf8')) as { Config?: { Image?: string } };
    return cfg.Config?.Image;
  } catch {
    return undefined;
  }
}

export function prepareImageRoot(opts: { rootPath: string; containerId: string; cache: ImageCache; cacheMax: number }): ImageRootFiles {
  const layers = readOverlayLayers(opts.rootPath);
  const { key, source } = cacheKeyOf(dockerChainId(opts.rootPath, opts.containerId), layers.image);
  const name = dockerImageName(opts.rootPath, opts.containerId);
  const { file: baseFile, built } = opts.cache.getOrBuild(key, name ? `${name} ${source}` : source, (tmp) => {
    const scratch = mkdtempSync(join(opts.cache.dir, `mnt-${process.pid}-`));
    try {
      ext4FromLayers(tmp, layers.image, scratch, 'runcvm-image');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  if (built) opts.cache.prune(opts.cacheMax);

  const dir = join(dirname(layers.upper), 'runcvm');
  const drives = prepareDrives(dir, layers);
  return { dir, baseFile, lowers: drives.lowers, upper: drives.upper, cacheKey: key, cacheBuilt: built };
}

/** The per-container drives in `dir` (<layer>/runcvm): lowers top first (base.ext4 last), and the upper. */
export function prepareDrives(dir: string, layers: { upper: string; init?: string }): { lowers: string[]; upper: string } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lowers: string[] = [];
  const layer = (name: string, src: string | undefined) => {
    rmSync(join(dir, name), { force: true });
    if (src === undefined || !hasEntries(src)) return;
    ext4FromDir(join(dir, name), src, name.replace('.ext4', ''));
    lowers.push(name);
  };
  layer('diff.ext4', layers.upper);
  layer('init.ext4', layers.init);
  // The mount point runc binds the cached image onto.
  closeSync(openSync(join(dir, 'base.ext4'), 'a', 0o600));
  lowers.push('base.ext4');
  const upper = join(dir, 'upper.ext4');
  if (!existsSync(upper)) {
    // Renamed into place only once formatted: a half-made drive would fail every later start.
    emptyExt4(`${upper}.tmp`, UPPER_SIZE_BYTES, 'runcvm-upper');
    renameSync(`${upper}.tmp`, upper);
  }
  return { lowers, upper: 'upper.ext4' };
}
