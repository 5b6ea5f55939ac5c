/** Hypervisor name → driver. Adding a backend means adding its folder and one line here. */
import type { Hypervisor } from '../contracts/kinds.ts';
import type { VmmDriver } from './driver.ts';
import { firecrackerDriver } from './firecracker/driver.ts';
import { qemuDriver } from './qemu/driver.ts';

export const DRIVERS: Record<Hypervisor, VmmDriver> = {
  qemu: qemuDriver,
  firecracker: firecrackerDriver,
};
