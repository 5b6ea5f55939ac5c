/**
 * When the VM's boot phases happened, for `runcvm metrics` (boot duration): the launcher writes
 * BOOT_RECORD once the workload has started, a small JSON object of epoch milliseconds that any
 * writer (a C supervisor too) can produce. The reader is on the host and the file is in the
 * sandbox, so parseBootRecord takes only bounded, ordered, finite numbers.
 */
import { writeFileSync } from 'node:fs';
import { RUN_DIR } from '../contracts/launch-spec.ts';

export const BOOT_RECORD = `${RUN_DIR}/boot.json`;
/** More than this many bytes is not a record of ours. */
export const BOOT_RECORD_MAX = 4096;

export interface BootRecord {
  launcherStartMs: number;
  vmmSpawnMs: number;
  agentUpMs: number;
  workloadStartedMs: number;
}

const KEYS = ['launcherStartMs', 'vmmSpawnMs', 'agentUpMs', 'workloadStartedMs'] as const;

export function writeBootRecord(r: BootRecord, path = BOOT_RECORD): void {
  writeFileSync(path, JSON.stringify(r), { mode: 0o644 });
}

/** The record, or undefined when the text is not one (missing phases, out of order, over a day). */
export function parseBootRecord(text: string): BootRecord | undefined {
  if (text.length > BOOT_RECORD_MAX) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof o !== 'object' || o === null) return undefined;
  const v = KEYS.map((k) => (o as Record<string, unknown>)[k]);
  if (!v.every((n): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0)) return undefined;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) < (v[i - 1] as number)) return undefined;
  if ((v[3] as number) - (v[0] as number) > 86_400_000) return undefined;
  return { launcherStartMs: v[0], vmmSpawnMs: v[1], agentUpMs: v[2], workloadStartedMs: v[3] } as BootRecord;
}
