/**
 * An image's layers as Docker describes them (`docker image inspect`): its chain ID, computed
 * from the layer diff IDs exactly as Docker's layer store does (so it equals the `parent` a
 * container of the image has, and the cache key `create` would use), and its overlay2 layer
 * dirs, top first. For `runcvm cache build`, which warms the cache before any container exists.
 */
import { createHash } from 'node:crypto';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)) (OCI image spec, "ChainID"). */
export function chainId(diffIds: readonly string[]): string {
  if (diffIds.length === 0) throw new Error('the image has no layers');
  let chain = '';
  for (const d of diffIds) {
    if (!DIGEST.test(d)) throw new Error(`invalid layer diff ID "${d}"`);
    chain = chain === '' ? d : `sha256:${createHash('sha256').update(`${chain} ${d}`).digest('hex')}`;
  }
  return chain;
}

export interface InspectedImage {
  id: string;
  chainId: string;
  /** Layer dirs, top first. */
  layers: string[];
}

/** Checks and reads one element of `docker image inspect`'s JSON array. */
export function imageFromInspect(raw: unknown): InspectedImage {
  const i = raw as {
    Id?: unknown;
    RootFS?: { Layers?: unknown };
    GraphDriver?: { Name?: unknown; Data?: Record<string, unknown> };
  };
  if (typeof i?.Id !== 'string') throw new Error('docker image inspect: no image Id');
  if (i.GraphDriver?.Name !== 'overlay2') {
    throw new Error(
      `the image is stored by Docker's "${String(i.GraphDriver?.Name)}" driver; the image cache needs overlay2`,
    );
  }
  const layers = i.RootFS?.Layers;
  if (!Array.isArray(layers) || !layers.every((l) => typeof l === 'string'))
    throw new Error('docker image inspect: no RootFS.Layers');
  const data = i.GraphDriver.Data ?? {};
  const upper = typeof data.UpperDir === 'string' ? data.UpperDir : undefined;
  if (!upper) throw new Error('docker image inspect: no GraphDriver.Data.UpperDir');
  const lower = typeof data.LowerDir === 'string' && data.LowerDir !== '' ? data.LowerDir.split(':') : [];
  return { id: i.Id, chainId: chainId(layers as string[]), layers: [upper, ...lower] };
}
