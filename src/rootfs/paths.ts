/** The longest directory path every one of `paths` lies below ("/" at worst). */
export function commonPrefix(paths: readonly string[]): string {
  const split = paths.map((p) => p.split('/'));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length - 1 && split.every((s) => s.length - 1 > n && s[n] === first[n])) n++;
  return first.slice(0, n).join('/') || '/';
}
