/**
 * The shape of one doctor finding, shared by the host checks and the engine checks, and the
 * text and JSON renderings. A failed check is one a container start would trip over, so it
 * carries the fix; `warn` works but not as well as it could; `info` is a fact for the reader.
 */
export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';

export interface Check {
  /** A short stable id (`qemu`, `kvm`, `docker` ...), for tools reading --json. */
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do about it; set on every warn and fail. */
  fix?: string;
}

export interface DoctorReport {
  runcvm: string;
  prefix: string;
  ok: boolean;
  checks: Check[];
}

export function report(runcvm: string, prefix: string, checks: Check[]): DoctorReport {
  return { runcvm, prefix, ok: checks.every((c) => c.status !== 'fail'), checks };
}

export function formatReport(r: DoctorReport): string {
  const width = Math.max(...r.checks.map((c) => c.name.length), 4);
  const lines = [`runcvm ${r.runcvm} (${r.prefix})`];
  for (const c of r.checks) {
    lines.push(`${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(width)}  ${c.message}`);
    if (c.fix) lines.push(`${' '.repeat(width + 8)}fix: ${c.fix}`);
  }
  const failed = r.checks.filter((c) => c.status === 'fail').length;
  const warned = r.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    failed
      ? `${failed} problem(s) stop runcvm containers from starting; ${warned} warning(s)`
      : `ready: runcvm containers can start here; ${warned} warning(s)`,
  );
  return `${lines.join('\n')}\n`;
}
