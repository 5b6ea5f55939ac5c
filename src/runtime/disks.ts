/**
 * RUNCVM_DISKS: extra file-backed disks, in the reference system's syntax
 * `<src>,<dst>,<fs>[,<size>]` separated by `;`. `src` is the backing file in the container's
 * filesystem view (usually under a volume, e.g. /disks/docker), `dst` the mount point in the
 * guest and the directory whose content fills a new disk. Only the syntax is checked here, at
 * `create`: whether `src` exists can only be seen once Docker's volumes are mounted (launcher).
 */
import { posix } from 'node:path';
import { parseSize as parseBytes } from '../common/size.ts';
import { OptionError } from '../contracts/errors.ts';

export const DISK_FILESYSTEMS = ['ext4', 'ext3', 'ext2'] as const;
export type DiskFs = (typeof DISK_FILESYSTEMS)[number];

export interface DiskOption {
  src: string;
  dst: string;
  fs: DiskFs;
  /** Size of a new backing file; undefined: the file must already exist. */
  sizeBytes?: number;
}

/** virtio-blk serials are at most 20 bytes; `runcvm-disk<N>` leaves room for any N < 8. */
export const MAX_DISKS = 8;
export const MIN_DISK_BYTES = 4 << 20;
const SYNTAX = '<src>,<dst>,<fs>[,<size>] separated by ";"';

export function diskSerial(index: number): string {
  return `runcvm-disk${index}`;
}

function fail(msg: string): never {
  throw new OptionError(`RUNCVM_DISKS: ${msg}`);
}

function absPath(what: string, p: string, entry: string): string {
  if (!p.startsWith('/')) fail(`${what} "${p}" in "${entry}" must be an absolute path (syntax: ${SYNTAX})`);
  if (/[\0\n]/.test(p)) fail(`${what} in "${entry}" contains a NUL or newline`);
  const n = posix.normalize(p).replace(/\/+$/, '') || '/';
  if (n === '/') fail(`${what} in "${entry}" cannot be /`);
  return n;
}

/** A disk's size: whole bytes (common/size.ts), no fraction. */
export function parseSize(s: string): number | undefined {
  return parseBytes(s, { fraction: false });
}

export function parseDisks(value: string | undefined): DiskOption[] {
  if (value === undefined || value.trim() === '') return [];
  const out: DiskOption[] = [];
  for (const raw of value.split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const parts = entry.split(',').map((x) => x.trim());
    if (parts.length < 3 || parts.length > 4) fail(`"${entry}" has ${parts.length} fields (syntax: ${SYNTAX})`);
    const [srcRaw, dstRaw, fsRaw, sizeRaw] = parts as [string, string, string, string | undefined];
    const src = absPath('src', srcRaw, entry);
    const dst = absPath('dst', dstRaw, entry);
    if (src === dst || src.startsWith(`${dst}/`))
      fail(`src "${src}" must not be dst "${dst}" or inside it (the disk would hide its own file)`);
    if (!(DISK_FILESYSTEMS as readonly string[]).includes(fsRaw)) {
      fail(`unknown filesystem "${fsRaw}" in "${entry}" (allowed: ${DISK_FILESYSTEMS.join(', ')})`);
    }
    let sizeBytes: number | undefined;
    if (sizeRaw !== undefined && sizeRaw !== '') {
      sizeBytes = parseSize(sizeRaw);
      if (sizeBytes === undefined)
        fail(
          `invalid size "${sizeRaw}" in "${entry}" (allowed: a number of bytes with an optional K, M, G or T suffix, e.g. 1G)`,
        );
      if (sizeBytes < MIN_DISK_BYTES) fail(`size "${sizeRaw}" in "${entry}" is below the minimum of 4M`);
    }
    if (out.some((d) => d.dst === dst)) fail(`dst "${dst}" appears twice`);
    if (out.some((d) => d.src === src)) fail(`src "${src}" appears twice`);
    out.push({ src, dst, fs: fsRaw as DiskFs, sizeBytes });
  }
  if (out.length > MAX_DISKS) fail(`${out.length} disks given, at most ${MAX_DISKS} are supported`);
  return out;
}
