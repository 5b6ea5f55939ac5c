/**
 * KVM when /dev/kvm is usable; TCG only when the user or the host's install allowed it
 * (DESIGN §7), because TCG is ~20x slower and silently using it would hide a broken host.
 */
import { closeSync, openSync, constants } from 'node:fs';
import type { Accel } from '../runtime/options.ts';
import { OptionError } from '../runtime/options.ts';

export function kvmUsable(path = '/dev/kvm'): boolean {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

export function chooseAccel(requested: Accel | undefined, kvm: boolean, hostAllowsTcg: boolean): Accel {
  if (requested === 'kvm' && !kvm) {
    throw new OptionError('RUNCVM_ACCEL=kvm: /dev/kvm is missing or not usable on this host (allowed: kvm, tcg)');
  }
  if (requested) return requested;
  if (kvm) return 'kvm';
  if (hostAllowsTcg) return 'tcg';
  throw new OptionError(
    'no usable /dev/kvm on this host: set RUNCVM_ACCEL=tcg to run under (slow) software emulation, ' +
      'or allow it host-wide with `runcvm install --allow-tcg`',
  );
}
