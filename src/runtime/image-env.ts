/**
 * The image's own ENV, read from the engine's store, so `create` can tell an image's RUNCVM_*
 * default from one the user gave with `-e` (both arrive merged in config.json's process.env)
 * and let an annotation beat the first but not the second (annotations.ts). Docker and Podman
 * are known; elsewhere (containerd, CRI-O) the answer is undefined and a conflict is refused.
 * The files are read as engine-store.ts says: only strings are taken, and files are size-capped.
 */
import { join } from 'node:path';
import { HEX64, readStoreJson as readJson, storeOf } from './engine-store.ts';

function envOfImageConfig(raw: unknown): string[] | undefined {
  const env = (raw as { config?: { Env?: unknown } } | null)?.config?.Env;
  if (env === undefined || env === null) return [];
  return Array.isArray(env) && env.every((e) => typeof e === 'string') ? env : undefined;
}

/** Docker: <data-root>/containers/<id>/config.v2.json names the image; its config is in the imagedb. */
function dockerImageEnv(dataRoot: string, driver: string, containerId: string): string[] | undefined {
  const cfg = readJson(join(dataRoot, 'containers', containerId, 'config.v2.json')) as { Image?: unknown };
  const image = typeof cfg.Image === 'string' ? cfg.Image.replace(/^sha256:/, '') : '';
  if (!HEX64.test(image)) return undefined;
  return envOfImageConfig(readJson(join(dataRoot, 'image', driver, 'imagedb', 'content', 'sha256', image)));
}

/** Podman (containers/storage): containers.json names the image; its config is a "big data" file. */
function podmanImageEnv(graphRoot: string, driver: string, containerId: string): string[] | undefined {
  const list = readJson(join(graphRoot, `${driver}-containers`, 'containers.json'));
  if (!Array.isArray(list)) return undefined;
  const image = (list.find((c) => (c as { id?: unknown })?.id === containerId) as { image?: unknown } | undefined)
    ?.image;
  if (typeof image !== 'string' || !HEX64.test(image)) return undefined;
  const key = `=${Buffer.from(`sha256:${image}`).toString('base64')}`;
  return envOfImageConfig(readJson(join(graphRoot, `${driver}-images`, image, key)));
}

/** The image's ENV of the container whose root is ROOTPATH (<store>/<driver>/<layer>/merged), or undefined. */
export function imageEnvOf(rootPath: string, containerId: string): string[] | undefined {
  const at = storeOf(rootPath);
  if (!HEX64.test(containerId) || !at) return undefined;
  const { store, driver } = at;
  for (const lookup of [dockerImageEnv, podmanImageEnv]) {
    try {
      const env = lookup(store, driver, containerId);
      if (env) return env;
    } catch {
      // Not this engine's layout: try the next one.
    }
  }
  return undefined;
}
