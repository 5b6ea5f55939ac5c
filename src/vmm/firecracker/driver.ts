/**
 * Firecracker backend. Only the host check exists so far: selecting it fails clearly at
 * `create` instead of doing something undefined. The driver proper (API socket, vsock agent,
 * image rootfs) is issue 6.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { envValue } from '../../oci/spec.ts';
import type { HostCheck, RunningVm, VmmDriver } from '../driver.ts';
import { VmmUnavailableError } from '../driver.ts';

export function findFirecracker(env: readonly string[], hostPath = process.env.PATH ?? ''): string | undefined {
  const explicit = envValue(env, 'RUNCVM_FIRECRACKER');
  const candidates = explicit ? [explicit] : hostPath.split(delimiter).filter(Boolean).map((d) => join(d, 'firecracker'));
  return candidates.find((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const firecrackerDriver: VmmDriver = {
  name: 'firecracker',

  checkHost(check: HostCheck): void {
    const missing: string[] = [];
    if (!findFirecracker(check.env)) missing.push('firecracker binary not found (RUNCVM_FIRECRACKER or PATH)');
    if (!check.kvm) missing.push('no usable /dev/kvm');
    if (missing.length > 0) {
      throw new VmmUnavailableError(`RUNCVM_HYPERVISOR=firecracker: not available on this host: ${missing.join(', ')}`);
    }
    throw new VmmUnavailableError('RUNCVM_HYPERVISOR=firecracker: this runcvm build has no Firecracker driver yet (use qemu)');
  },

  start(): Promise<RunningVm> {
    return Promise.reject(new VmmUnavailableError('firecracker driver not implemented'));
  },
};
