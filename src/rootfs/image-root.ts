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
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ImageCache } from './cache.ts';
import { emptyExt4, ext4FromDir, ext4FromLayers } from './ext4.ts';
import { dockerChainId, readOverlayLayers } from './overlay-layers.ts';
import { ownUid, PinnedDir } from './pinned-dir.ts';

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

export function cacheKeyOf(
  chainId: string | undefined,
  imageLayers: readonly string[],
): { key: string; source: string } {
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
    const cfg = JSON.parse(
      readFileSync(join(dirname(dirname(dirname(rootPath))), 'containers', containerId, 'config.v2.json'), 'utf8'),
    ) as { Config?: { Image?: string } };
    return cfg.Config?.Image;
  } catch {
    return undefined;
  }
}

/**
 * What the image root of a container will be, read from the host without writing anything: the
 * overlay's layers, the cache key, and where the drives will be. `create` plans it with every other
 * check, and builds it (buildImageRoot) only once nothing can refuse the container any more.
 */
export interface ImageRootPlan {
  rootPath: string;
  layers: ReturnType<typeof readOverlayLayers>;
  key: string;
  /** What the key was derived from, with the image name when Docker recorded it (runcvm cache ls). */
  label: string;
  /** Host dir with the per-container drives. */
  dir: string;
  /** Host path the cached base image has (or will have once built). */
  baseFile: string;
}

export function planImageRoot(opts: { rootPath: string; containerId: string; cache: ImageCache }): ImageRootPlan {
  const layers = readOverlayLayers(opts.rootPath);
  const { key, source } = cacheKeyOf(dockerChainId(opts.rootPath, opts.containerId), layers.image);
  const name = dockerImageName(opts.rootPath, opts.containerId);
  return {
    rootPath: opts.rootPath,
    layers,
    key,
    label: name ? `${name} ${source}` : source,
    dir: join(dirname(layers.upper), 'runcvm'),
    baseFile: opts.cache.pathOf(key),
  };
}

/** The cached ext4 of an image's layers (top first), built once; shared by create and `runcvm cache build`. */
export function cacheImageLayers(
  cache: ImageCache,
  key: string,
  label: string,
  imageLayers: string[],
  cacheMax: number,
): { file: string; built: boolean } {
  const r = cache.getOrBuild(key, label, (tmp) => {
    const scratch = mkdtempSync(join(cache.dir, `mnt-${process.pid}-`));
    try {
      ext4FromLayers(tmp, imageLayers, scratch, 'runcvm-image');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
  if (r.built) cache.prune(cacheMax);
  return r;
}

/** Builds what `plan` describes: the cached base image on a miss (then prunes the cache to cacheMax), and the container's drives. */
export function buildImageRoot(plan: ImageRootPlan, cache: ImageCache, cacheMax: number): ImageRootFiles {
  const { file: baseFile, built } = cacheImageLayers(cache, plan.key, plan.label, plan.layers.image, cacheMax);
  const drives = prepareDrives(plan.dir, plan.layers);
  return { dir: plan.dir, baseFile, lowers: drives.lowers, upper: drives.upper, cacheKey: plan.key, cacheBuilt: built };
}

/** Temp names of a create that died, this one's (pinned-dir.ts) and the fixed one of earlier versions. */
const STALE_TMP = /^(diff|init|base|upper)\.ext4\.tmp(-[0-9a-f]+)?$/;

/**
 * The per-container drives in `path` (<layer>/runcvm): lowers top first (base.ext4 last), and the
 * upper. The launcher, so a compromised VMM, can write that directory: every entry found there is
 * hostile (pinned-dir.ts), and only a plain upper.ext4 of ours is used as it is.
 */
export function prepareDrives(
  path: string,
  layers: { upper: string; init?: string },
): { lowers: string[]; upper: string } {
  const dir = PinnedDir.open(path);
  try {
    for (const n of dir.names()) {
      if (!STALE_TMP.test(n)) continue;
      try {
        dir.remove(n);
      } catch {
        // A directory of that name was planted: not ours to clear, and nothing opens it.
      }
    }
    const lowers: string[] = [];
    for (const [name, src] of [
      ['diff.ext4', layers.upper],
      ['init.ext4', layers.init],
    ] as const) {
      if (src === undefined || !hasEntries(src)) {
        dir.remove(name);
        continue;
      }
      dir.replace(name, (out) => ext4FromDir(out, src, name.replace('.ext4', '')));
      lowers.push(name);
    }
    // The mount point runc binds the cached image onto: an empty file of ours, whatever was there.
    dir.replace('base.ext4', () => {});
    lowers.push('base.ext4');
    if (!keepUpper(dir)) dir.replace('upper.ext4', (out) => emptyExt4(out, UPPER_SIZE_BYTES, 'runcvm-upper'));
    return { lowers, upper: 'upper.ext4' };
  } finally {
    dir.close();
  }
}

/**
 * Whether upper.ext4 holds the guest's writes from an earlier run (kept when the VM was killed).
 * Anything but a regular file holds no data and is replaced; a regular file someone else made,
 * or gave a second name, is refused rather than handed to the VMM read-write or thrown away.
 */
function keepUpper(dir: PinnedDir): boolean {
  const st = dir.lstat('upper.ext4');
  if (!st?.isFile()) return false;
  if (st.nlink !== 1)
    throw new Error(
      `${dir.show('upper.ext4')}: ${st.nlink} links (something gave the container's drive another name): refusing it`,
    );
  if (st.uid !== ownUid())
    throw new Error(`${dir.show('upper.ext4')}: owned by uid ${st.uid}, not made by runcvm: refusing it`);
  return true;
}
