/**
 * ext4 files for the image rootfs mode, built with `mkfs.ext4 -d` (e2fsprogs): no loop device,
 * no mount of the result. Ownership, modes, hardlinks, device nodes (overlay whiteouts) and
 * xattrs (overlay opaque dirs) are copied as they are.
 */
import { spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { commonPrefix } from './paths.ts';

// Sized from the tree: blocks as du counts them, plus 1/8 slack, the inode tables and 16 MiB.
const BUILD = String.raw`
set -eu
out=$1 src=$2 label=$3
kb=$(du -skx "$src" | cut -f1)
n=$(find "$src" -xdev | wc -l)
inodes=$((n + n / 8 + 256))
truncate -s "$((kb + kb / 8 + inodes / 4 + 16384))K" "$out"
mkfs.ext4 -q -F -b 4096 -m 0 -N "$inodes" -O ^has_journal -E lazy_itable_init=1,nodiscard -L "$label" -d "$src" "$out"
# mkfs always makes /lost+found: it would show in the container's root.
[ -e "$src/lost+found" ] || debugfs -w -R "rmdir /lost+found" "$out" >/dev/null 2>&1
`;

// Several layers are merged by a read-only overlay in a private mount namespace, so nothing
// stays mounted on the host whatever happens to this process.
const MERGED = String.raw`
set -eu
mnt=$4 lower=$5
mount -t overlay overlay -o "ro,lowerdir=$lower" "$mnt"
set -- "$1" "$mnt" "$3"
` + BUILD;

function run(what: string, cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: ${(r.stderr || r.stdout).trim() || `exit ${r.status ?? r.signal}`}`);
}

/** A read-only ext4 of one directory as it is (a layer with its whiteouts). */
export function ext4FromDir(out: string, dir: string, label: string): void {
  run(`building ${out} from ${dir}`, 'sh', ['-c', BUILD, 'build', out, dir, label]);
}

/** A read-only ext4 of the merged view of layers (top first); `scratch` is an empty dir. */
export function ext4FromLayers(out: string, layers: string[], scratch: string, label: string): void {
  if (layers.length === 1) return ext4FromDir(out, layers[0] as string, label);
  // Relative to their common parent: the mount options must fit in one page.
  const base = commonPrefix(layers);
  const lower = layers.map((l) => relative(base, l)).join(':');
  if (lower.length > 3800) throw new Error(`building ${out}: ${layers.length} layers do not fit in one overlay mount`);
  run(`building ${out} from ${layers.length} layers`, 'unshare', ['-m', '--propagation', 'private', 'sh', '-c', MERGED, 'build', out, '', label, scratch, lower], base);
}

/** An empty, sparse, journaled ext4 for a container's writes. */
export function emptyExt4(out: string, sizeBytes: number, label: string): void {
  run(`creating ${out}`, 'sh', ['-c', 'set -eu; truncate -s "$2" "$1"; mkfs.ext4 -q -F -b 4096 -m 0 -E lazy_itable_init=1,lazy_journal_init=1,nodiscard -L "$3" "$1"', 'mkfs', out, String(sizeBytes), label]);
}
