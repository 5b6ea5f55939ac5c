/**
 * The Firecracker versions this driver was built and spec-checked for. Older ones lack the ACPI
 * device description the Debian kernel needs (it has no virtio_mmio.device= support); newer ones
 * may change the API (checked against v1.16.1's spec).
 */
export const SUPPORTED = { min: [1, 8], max: [1, 16] } as const;

export function parseFirecrackerVersion(output: string): [number, number, number] | undefined {
  const m = /Firecracker v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** null when supported, else why not. */
export function versionProblem(output: string): string | null {
  const v = parseFirecrackerVersion(output);
  if (!v) return `cannot tell the firecracker version from "${output.trim().split('\n')[0]}"`;
  const mm = v[0] * 1000 + v[1];
  const lo = SUPPORTED.min[0] * 1000 + SUPPORTED.min[1];
  const hi = SUPPORTED.max[0] * 1000 + SUPPORTED.max[1];
  if (mm < lo || mm > hi) {
    return `firecracker v${v.join('.')} is not supported (this runcvm supports v${SUPPORTED.min.join('.')}.x to v${SUPPORTED.max.join('.')}.x)`;
  }
  return null;
}
