/**
 * The image's own ENV, read from the engine's store, so `create` can tell an image's RUNCVM_*
 * default from one the user gave with `-e` (both arrive merged in config.json's process.env)
 * and let an annotation beat the first but not the second (annotations.ts). Docker and Podman
 * are known; elsewhere (containerd, CRI-O) the answer is undefined and a conflict is refused.
 * The files are the engine's (root-owned), but their content comes from an untrusted image:
 * only strings are taken, and files are size-capped.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const MAX_JSON_BYTES = 64 * 1024 * 1024;
const HEX64 = /^[0-9a-f]{64}$/;

function readJson(path: string): unknown {
  if (statSync(path).size > MAX_JSON_BYTES) throw new Error(`${path}: larger than ${MAX_JSON_BYTES} bytes`);
  return JSON.parse(readFileSync(path, 'utf8'));
}

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
  if (!HEX64.test(containerId) || basename(rootPath) !== 'merged') return undefined;
  const driverDir = dirname(dirname(rootPath));
  const store = dirname(driverDir);
  const driver = basename(driverDir);
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
