/**
 * ext4 files for the image rootfs mode, built with `mkfs.ext4 -d` (e2fsprogs): no loop device,
 * no mount of the result. Ownership, modes, hardlinks, device nodes (overlay whiteouts) and
 * xattrs (overlay opaque dirs) are copied as they are. The output is a file the caller has just
 * created and holds open (pinned-dir.ts): the tools get it as fd 3 and write /dev/fd/3, so no name
 * in a directory a container can write is ever looked up again.
 */
import { spawnSync } from 'node:child_process';
import { ftruncateSync } from 'node:fs';
import { relative } from 'node:path';
import { commonPrefix } from './paths.ts';
import type { NewFile } from './pinned-dir.ts';

const OUT = '/dev/fd/3';

// Sized from the tree: blocks as du counts them, plus 1/8 slack, the inode tables and 16 MiB.
const BUILD = `
set -eu
out=$1 src=$2 label=$3
kb=$(du -skx "$src" | cut -f1)
n=$(find "$src" -xdev | wc -l)
inodes=$((n + n / 8 + 256))
# "$out" is /dev/fd/3: truncate and mkfs reopen the caller's file, they look up no name.
truncate -s "$((kb + kb / 8 + inodes / 4 + 16384))K" "$out"
mkfs.ext4 -q -F -b 4096 -m 0 -N "$inodes" -O ^has_journal -E lazy_itable_init=1,nodiscard -L "$label" -d "$src" "$out"
# mkfs always makes /lost+found: it would show in the container's root. (-h: a link there is not followed.)
[ -e "$src/lost+found" ] || [ -h "$src/lost+found" ] || debugfs -w -R "rmdir /lost+found" "$out" >/dev/null 2>&1
`;

// Several layers are merged by a read-only overlay in a private mount namespace, so nothing
// stays mounted on the host whatever happens to this process.
const MERGED =
  `
set -eu
mnt=$4 lower=$5
mount -t overlay overlay -o "ro,lowerdir=$lower" "$mnt"
set -- "$1" "$mnt" "$3"
` + BUILD;

function run(what: string, out: NewFile, cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', out.fd] });
  if (r.error) throw new Error(`${what}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what}: ${(r.stderr || r.stdout).trim() || `exit ${r.status ?? r.signal}`}`);
}

/** A read-only ext4 of one directory as it is (a layer with its whiteouts). */
export function ext4FromDir(out: NewFile, dir: string, label: string): void {
  run(`building ${out.path} from ${dir}`, out, 'sh', ['-c', BUILD, 'build', OUT, dir, label]);
}

/** A read-only ext4 of the merged view of layers (top first); `scratch` is an empty dir. */
export function ext4FromLayers(out: NewFile, layers: string[], scratch: string, label: string): void {
  if (layers.length === 1) return ext4FromDir(out, layers[0] as string, label);
  // Relative to their common parent: the mount options must fit in one page.
  const base = commonPrefix(layers);
  const lower = layers.map((l) => relative(base, l)).join(':');
  if (lower.length > 3800)
    throw new Error(`building ${out.path}: ${layers.length} layers do not fit in one overlay mount`);
  run(
    `building ${out.path} from ${layers.length} layers`,
    out,
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', MERGED, 'build', OUT, '', label, scratch, lower],
    base,
  );
}

/** An empty, sparse, journaled ext4 for a container's writes. */
export function emptyExt4(out: NewFile, sizeBytes: number, label: string): void {
  ftruncateSync(out.fd, sizeBytes);
  run(`creating ${out.path}`, out, 'mkfs.ext4', [
    '-q',
    '-F',
    '-b',
    '4096',
    '-m',
    '0',
    '-E',
    'lazy_itable_init=1,lazy_journal_init=1,nodiscard',
    '-L',
    label,
    OUT,
  ]);
}
