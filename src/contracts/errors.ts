/**
 * runcvm's one error model. Every error that crosses a module boundary is a RuncvmError of one
 * of a closed set of kinds, carries the context it happened in and keeps what caused it as
 * `cause` (its message is never copied into the outer one). The process entry points
 * (src/cli/report.ts) turn it into the exit status and the line the user sees.
 */

export const ERROR_KINDS = [
  /** The container's request or options are refused: the user can fix it (RUNCVM_*, docker flags). */
  'invalid-option',
  /** The host cannot run the container as asked: a missing binary, device, kernel, setting or install step. */
  'host-not-ready',
  /** The VM, its VMM or the guest agent failed or did not answer. */
  'guest-failure',
  /** runcvm's own invariant broken, or an unexpected failure of a host call. */
  'internal',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** Where an error happened; each field only when it is known. */
export interface ErrorContext {
  containerId?: string;
  /** The operation that failed, e.g. "create", "runc state", "image root". */
  step?: string;
  file?: string;
}

export interface RuncvmErrorOptions {
  cause?: unknown;
  context?: ErrorContext;
  /**
   * The status the failing process exits with when it is not its kind's (EXIT_STATUS): the
   * launcher exits 127/126 when the guest cannot start the workload's command, as runc does.
   */
  exitStatus?: number;
}

export class RuncvmError extends Error {
  readonly kind: ErrorKind;
  readonly context: ErrorContext;
  readonly exitStatus: number | undefined;

  constructor(kind: ErrorKind, message: string, opts: RuncvmErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'RuncvmError';
    this.kind = kind;
    this.context = opts.context ?? {};
    this.exitStatus = opts.exitStatus;
  }
}

/** A container's options or request refused at `create`/`exec`/`update`: shown to the user as is. */
export class OptionError extends RuncvmError {
  constructor(message: string, opts?: RuncvmErrorOptions) {
    super('invalid-option', message, opts);
    this.name = 'OptionError';
  }
}

/** The host lacks what the container needs (binary, device, setting, install step). */
export class HostNotReadyError extends RuncvmError {
  constructor(message: string, opts?: RuncvmErrorOptions) {
    super('host-not-ready', message, opts);
    this.name = 'HostNotReadyError';
  }
}

/** The VM, VMM or guest agent failed. */
export class GuestFailure extends RuncvmError {
  constructor(message: string, opts?: RuncvmErrorOptions) {
    super('guest-failure', message, opts);
    this.name = 'GuestFailure';
  }
}

/** The kind of any thrown value: anything that is not a RuncvmError is internal. */
export function errorKind(e: unknown): ErrorKind {
  return e instanceof RuncvmError ? e.kind : 'internal';
}

/**
 * The exit status of a runcvm process (runtime verb, launcher, admin command) that fails with an
 * error of each kind. All are 1, as runc's: containerd and Docker tell failures apart by the
 * message in runc's log, not by the status. The table is typed on every kind, so a new kind
 * cannot be added without deciding its status here.
 */
export const EXIT_STATUS: Record<ErrorKind, number> = {
  'invalid-option': 1,
  'host-not-ready': 1,
  'guest-failure': 1,
  internal: 1,
};

/** The status a process exits with for `e`: its own exitStatus, else its kind's. */
export function exitStatusFor(e: unknown): number {
  return (e instanceof RuncvmError ? e.exitStatus : undefined) ?? EXIT_STATUS[errorKind(e)];
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The whole story of an error on one line: its message, then each cause's, joined by ": "
 * (the message of an error never repeats its cause, so nothing is said twice).
 */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur !== undefined && !seen.has(cur); cur = cur instanceof Error ? cur.cause : undefined) {
    seen.add(cur);
    const m = messageOf(cur);
    if (m !== '') parts.push(m);
  }
  return parts.join(': ');
}
