/**
 * The layers behind a container's overlay rootfs, read from /proc/self/mountinfo at `create`
 * (the runtime runs in the host's mount namespace, where dockerd/containerd mounted it).
 * Docker's first lowerdir is the container's own "-init" layer (hosts, hostname, .dockerenv);
 * the rest are the image's layers, top first.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface OverlayLayers {
  /** The image's layer dirs, top first (absolute, symlinks resolved). */
  image: string[];
  /** Docker's per-container init layer, if any. */
  init?: string;
  /** The container's own writable layer (Docker's diff dir). */
  upper: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** The super options of the overlay mounted at `mountPoint`, or undefined. */
export function overlayOptions(mountinfo: string, mountPoint: string): Map<string, string> | undefined {
  let found: Map<string, string> | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    if (fstype !== 'overlay' || unescapeMountinfo(fields[4] ?? '') !== mountPoint) continue;
    const opts = new Map<string, string>();
    // lowerdir may itself contain escaped commas ("\,"); Docker's paths never do.
    for (const o of (superOpts ?? '').split(',')) {
      const eq = o.indexOf('=');
      opts.set(eq < 0 ? o : o.slice(0, eq), eq < 0 ? '' : unescapeMountinfo(o.slice(eq + 1)));
    }
    found = opts; // the last mount on the path is the visible one
  }
  return found;
}

/**
 * Docker mounts with lowerdirs relative to its overlay2 dir when the absolute list would not fit
 * in a page; `base` is that dir (the parent of <mount-id>/merged).
 */
export function layersOf(
  opts: Map<string, string>,
  base: string,
  real: (p: string) => string = realpathSync,
): OverlayLayers {
  const lower = opts.get('lowerdir');
  const upper = opts.get('upperdir');
  if (!lower || !upper) throw new Error('the overlay has no lowerdir or upperdir');
  const abs = (p: string) => real(isAbsolute(p) ? p : resolve(base, p));
  // "::" separates data-only layers (kernel 6.5+), which Docker does not use.
  const dirs = lower.split(':').filter(Boolean).map(abs);
  const init = dirs[0]?.endsWith('-init/diff') ? dirs.shift() : undefined;
  if (dirs.length === 0) throw new Error('the overlay has no image layers');
  return { image: dirs, init, upper: abs(upper) };
}

/** The layers of the overlay rootfs at `rootPath`, or an error saying why there are none. */
export function readOverlayLayers(
  rootPath: string,
  mountinfo = readFileSync('/proc/self/mountinfo', 'utf8'),
): OverlayLayers {
  const opts = overlayOptions(mountinfo, rootPath);
  if (!opts)
    throw new Error(
      `${rootPath} is not an overlay mount (image rootfs mode needs Docker's overlay2 or containerd's overlayfs snapshotter)`,
    );
  return layersOf(opts, dirname(dirname(rootPath)));
}

/**
 * Docker's content-addressed chain ID of the image's top layer, when the runtime is Docker's:
 * <data-root>/image/overlay2/layerdb/mounts/<container-id>/parent.
 */
export function dockerChainId(rootPath: string, containerId: string): string | undefined {
  const dataRoot = dirname(dirname(dirname(rootPath)));
  try {
    const v = readFileSync(
      join(dataRoot, 'image', 'overlay2', 'layerdb', 'mounts', containerId, 'parent'),
      'utf8',
    ).trim();
    return /^sha256:[0-9a-f]{64}$/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
