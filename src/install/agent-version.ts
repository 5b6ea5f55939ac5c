/**
 * The guest agent's version, read from an installed initramfs without booting it: the agent is
 * the archive's `init` (cpio newc, uncompressed, as guest/build.sh writes it) and carries the
 * string it sends in HELLO, "runcvm-agent <version>".
 */
import { readFileSync } from 'node:fs';

const NEWC_MAGIC = '070701';
const HEADER = 110;

function align4(n: number): number {
  return (n + 3) & ~3;
}

interface Entry {
  name: string;
  ino: number;
  data: Buffer;
}

function* entries(archive: Buffer): Generator<Entry> {
  let off = 0;
  while (off + HEADER <= archive.length) {
    if (archive.toString('latin1', off, off + 6) !== NEWC_MAGIC) {
      throw new Error(`not a cpio newc archive (bad magic at byte ${off})`);
    }
    const field = (i: number) => Number.parseInt(archive.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const size = field(6);
    const nameSize = field(11);
    const name = archive.toString('utf8', off + HEADER, off + HEADER + nameSize - 1);
    if (name === 'TRAILER!!!') return;
    const dataStart = align4(off + HEADER + nameSize);
    yield { name, ino: field(0), data: archive.subarray(dataStart, dataStart + size) };
    off = align4(dataStart + size);
  }
}

/**
 * The bytes of one file of a newc archive, or undefined when it has none by that name. The data
 * of hard-linked names (the agent is also /sbin/modprobe) comes with the last link only.
 */
export function cpioFile(archive: Buffer, wanted: string): Buffer | undefined {
  const all = [...entries(archive)];
  const hit = all.find((e) => e.name === wanted || e.name === `./${wanted}`);
  if (!hit || hit.data.length > 0) return hit?.data;
  return all.find((e) => e.ino === hit.ino && e.data.length > 0)?.data ?? hit.data;
}

const AGENT_VERSION = /runcvm-agent ([0-9A-Za-z][0-9A-Za-z.+~-]*)\0/;

export function agentVersionOf(agent: Buffer): string | undefined {
  return AGENT_VERSION.exec(agent.toString('latin1'))?.[1];
}

/** The version of the agent inside INITRAMFS, or why it cannot be told. */
export function readAgentVersion(initramfs: string): { version?: string; error?: string } {
  let archive: Buffer;
  try {
    archive = readFileSync(initramfs);
  } catch (e) {
    return { error: `cannot read ${initramfs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const init = cpioFile(archive, 'init');
    if (!init) return { error: `${initramfs} has no /init` };
    const version = agentVersionOf(init);
    return version ? { version } : { error: `${initramfs}: /init carries no runcvm-agent version string` };
  } catch (e) {
    return { error: `${initramfs}: ${(e as Error).message}` };
  }
}
