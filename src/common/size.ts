/**
 * The one rule for sizes runcvm reads (RUNCVM_DISKS sizes, the image cache cap, runc's memory
 * flags): a number of bytes, optionally followed by one space and a binary suffix k, m, g, t or
 * p (case-insensitive, powers of 1024), which may be spelt with "i" and/or "b" ("64MiB", "1Gi", "1gb").
 * This is the syntax of Docker's go-units RAMInBytes, which docker update's flags use.
 */
const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;
const POWERS = ['', 'k', 'm', 'g', 't', 'p'];

export interface SizeRules {
  /** Accept a fractional number ("1.5g", rounded down to whole bytes); default true. */
  fraction?: boolean;
}

/** The size in bytes, or undefined when `text` is not a size. */
export function parseSize(text: string, rules: SizeRules = {}): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const number = m[1] as string;
  if (rules.fraction === false && number.includes('.')) return undefined;
  const power = POWERS.indexOf((m[2] ?? '').toLowerCase());
  return Math.floor(Number(number) * 1024 ** power);
}
