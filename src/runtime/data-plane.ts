/**
 * Who runs a container's data plane once its VM runs (docs/architecture.md, "The supervisor"):
 * the one place that decides it. The C supervisor (src/launcher/supervisor) takes over the
 * processes of a VM whose launcher has nothing left to do after boot (QEMU and virtiofsd, or
 * Firecracker: its vsock handshake and its API socket's power-off are the supervisor's too); the
 * Node launcher stays for the containers whose data plane still has parts only it implements.
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
  // The 9P server (diod, src/volumes/server.ts) is the launcher's child, firewalled and stopped by it.
  // Firecracker has no virtiofs, so its volumes (and its image root's export) are always 9P: a
  // Firecracker container keeps the launcher for this reason until the supervisor adopts the server.
  if (c.volumes === '9p') return { plane: 'node', keptNode: 'the 9P volume server runs under the Node launcher' };
  // A pod VM's launcher also copies its stderr to the pod log and serves CRI PortForward.
  if (c.podSandbox) return { plane: 'node', keptNode: "a pod VM's launcher serves the pod log and PortForward" };
  return { plane: 'supervisor' };
}
