/**
 * KVM when /dev/kvm is usable; TCG only when the user or the host's install allowed it
 * (DESIGN §7), because TCG is ~20x slower and silently using it would hide a broken host.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { OptionError } from '../contracts/errors.ts';
import type { Accel } from '../contracts/kinds.ts';

export function kvmUsable(path = '/dev/kvm'): boolean {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

export interface AccelFacts {
  /** /dev/kvm opens read-write now. */
  devKvm: boolean;
  /** The install-time probe booted a VM under KVM (kvm-probe.ts), and why not if it did not. */
  probe: { usable: boolean; reason: string };
  hostAllowsTcg: boolean;
}

/** An explicit RUNCVM_ACCEL=kvm overrides the install probe; auto-selection trusts it. */
export function chooseAccel(requested: Accel | undefined, f: AccelFacts): Accel {
  if (requested === 'kvm' && !f.devKvm) {
    throw new OptionError('RUNCVM_ACCEL=kvm: /dev/kvm is missing or not usable on this host (allowed: kvm, tcg)');
  }
  if (requested) return requested;
  if (f.devKvm && f.probe.usable) return 'kvm';
  if (f.hostAllowsTcg) return 'tcg';
  const why = f.devKvm ? `KVM is not usable: ${f.probe.reason}` : 'no usable /dev/kvm on this host';
  throw new OptionError(
    `${why}; set RUNCVM_ACCEL=tcg to run under (slow) software emulation, or allow it host-wide with \`runcvm install --allow-tcg\``,
  );
}
