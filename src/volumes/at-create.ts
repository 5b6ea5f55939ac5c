/**
 * RUNCVM_VOLUMES=9p at `create`: checks the host and the container can have it, then plans the
 * exports, the jail (skeleton files and runc mounts) and the link. Reads the host (stat of the
 * sources, diod's library list) but writes nothing: `create` writes the skeleton with the rest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '../contracts/errors.ts';
import type { GuestMount } from '../contracts/guest-mount.ts';
import type { NetworkMode } from '../contracts/kinds.ts';
import type { VolumeServerSpec } from '../contracts/volume-server.ts';
import type { OciMount } from '../oci/spec.ts';
import { linkFor, mountOptions } from './link.ts';
import {
  DIOD_BINARY,
  JAIL_IN_CONTAINER,
  jailMounts,
  jailSkeleton,
  parseLoaderTrace,
  planVolumes,
  type SkeletonEntry,
} from './plan.ts';

export interface NinepCreatePlan {
  server: VolumeServerSpec;
  mounts: GuestMount[];
  ociMounts: OciMount[];
  skeleton: SkeletonEntry[];
  skeletonDir: string;
  /** RUNCVM_ROOTFS=image: 9P mount options of the container's root export (write-back target). */
  rootOptions?: string;
}

/** The attach name of the container's own root, exported only with an image root. */
export const ROOT_EXPORT = '/r';

/** diod's shared libraries and loader, from the loader's own trace (no code of diod runs). */
export function diodLibraries(binary = DIOD_BINARY): string[] {
  const r = spawnSync(binary, [], { env: { LD_TRACE_LOADED_OBJECTS: '1' }, encoding: 'utf8', timeout: 10_000 });
  const libs = parseLoaderTrace(r.stdout ?? '');
  if (r.status !== 0 || libs.length === 0) {
    throw new Error(
      `RUNCVM_VOLUMES=9p: cannot list the libraries of ${binary} (status ${r.status}): ${r.stderr || r.error?.message || ''}`.trim(),
    );
  }
  return libs;
}

/**
 * rootExport: the host path of the container's root filesystem, exported read-write when the
 * guest's root is an image: its write-back and nothing else goes there.
 */
export function planNinepAtCreate(opts: {
  containerId: string;
  network: NetworkMode;
  mounts: GuestMount[];
  specDir: string;
  rootExport?: string;
}): NinepCreatePlan {
  if (opts.network !== 'own') {
    throw new OptionError(
      "RUNCVM_VOLUMES=9p: needs the container's own network namespace for its private link; " +
        '--network host and --network container:… are not supported (allowed there: RUNCVM_VOLUMES=virtiofs)',
    );
  }
  if (!existsSync(DIOD_BINARY))
    throw new OptionError(`RUNCVM_VOLUMES=9p: the 9P server ${DIOD_BINARY} is missing (install the diod package)`);
  const link = linkFor(opts.containerId);
  const plan = planVolumes(opts.mounts, link, (source) => !statSync(source).isDirectory());
  if (opts.rootExport) plan.exports.push({ aname: ROOT_EXPORT, source: opts.rootExport, readonly: false, file: false });
  const libraries = diodLibraries();
  const skeletonDir = join(opts.specDir, 'jail');
  return {
    server: { link, jail: JAIL_IN_CONTAINER, exports: plan.exports.map((e) => e.aname) },
    mounts: plan.mounts,
    ociMounts: jailMounts(skeletonDir, plan.exports, libraries),
    skeleton: jailSkeleton(link, plan.exports, libraries),
    skeletonDir,
    ...(opts.rootExport ? { rootOptions: mountOptions(link, ROOT_EXPORT) } : {}),
  };
}

/** Writes the jail skeleton (root-owned, world-readable: diod reads it as root anyway). */
export function writeSkeleton(dir: string, entries: SkeletonEntry[]): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const e of entries) {
    const p = join(dir, e.path);
    if (e.content === undefined) mkdirSync(p, { recursive: true, mode: 0o755 });
    else writeFileSync(p, e.content, { mode: 0o644 });
  }
}
