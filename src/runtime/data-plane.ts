/**
 * Who runs a container's data plane once its VM runs (docs/architecture.md, "The supervisor"):
 * the one place that decides it. The C supervisor (src/launcher/supervisor) takes over the
 * processes of a QEMU VM whose launcher has nothing left to do after boot; the Node launcher stays
 * for the containers whose data plane still has parts only it implements.
 */
import type { DataPlane, Hypervisor, VolumeMode } from '../contracts/kinds.ts';

export interface DataPlaneInputs {
  /** RUNCVM_DATA_PLANE, or the default (contracts/kinds.ts). */
  requested: DataPlane;
  hypervisor: Hypervisor;
  volumes: VolumeMode;
  /** A CRI pod sandbox whose VM runs the pod's containers (pod-vm.ts). */
  podSandbox: boolean;
}

export interface DataPlaneChoice {
  plane: DataPlane;
  /** Why the Node launcher stays although the supervisor was asked for (for the host log). */
  keptNode?: string;
}

export function dataPlaneFor(c: DataPlaneInputs): DataPlaneChoice {
  if (c.requested === 'node') return { plane: 'node' };
  // The supervisor adopts QEMU's and virtiofsd's processes as the launcher leaves them running;
  // Firecracker's jailer and API socket belong to the launcher's driver.
  if (c.hypervisor !== 'qemu') return { plane: 'node', keptNode: `${c.hypervisor} runs under the Node launcher` };
  // 9P volumes (diod is adopted as a helper, its link removed after the VM: teardown.h) and CRI
  // pod VMs (pod log copy: podlog.h; PortForward relay: portfwd.h) run under the supervisor too.
  return { plane: 'supervisor' };
}
