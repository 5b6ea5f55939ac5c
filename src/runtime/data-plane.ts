/**
 * Who runs a container's data plane once its VM runs (docs/architecture.md, "The supervisor"):
 * the one place that decides it. The C supervisor (src/launcher/supervisor) takes over the
 * processes of a VM whose launcher has nothing left to do after boot (QEMU and virtiofsd, or
 * Firecracker: its vsock handshake and its API socket's power-off are the supervisor's too); the
 * Node launcher stays for the containers whose data plane still has parts only it implements.
 * Where the supervisor serves, it also starts a QEMU VM itself from create's plan unless a step
 * before QEMU is still the Node launcher's (vmStart).
 */
import type { DataPlane, Hypervisor, VolumeMode } from '../contracts/kinds.ts';

export interface DataPlaneInputs {
  /** RUNCVM_DATA_PLANE, or the default (contracts/kinds.ts). */
  requested: DataPlane;
  hypervisor: Hypervisor;
  volumes: VolumeMode;
  /** A CRI pod sandbox whose VM runs the pod's containers (pod-vm.ts). */
  podSandbox: boolean;
  /** RUNCVM_DISKS entries: their files are found or made (mke2fs) by the launcher (launcher/disks.ts). */
  disks: number;
  /** --cpuset-cpus: vCPU threads pinned through QMP once QEMU answers (vmm/qemu/driver.ts). */
  hostCpus: boolean;
}

export interface DataPlaneChoice {
  plane: DataPlane;
  /** Why the Node launcher stays although the supervisor was asked for (for the host log). */
  keptNode?: string;
  /**
   * On the supervisor: who starts the VM. 'supervisor': create hands the network over and writes
   * the start plan (runtime/vm-start.ts), runcvm-supervisor spawns virtiofsd and QEMU itself, and
   * no Node launcher runs at all. 'launcher': the Node launcher starts it and hands over.
   */
  vmStart?: 'supervisor' | 'launcher';
  /** Why the Node launcher still starts the VM (for the host log). */
  keptLauncher?: string;
}

export function dataPlaneFor(c: DataPlaneInputs): DataPlaneChoice {
  if (c.requested === 'node') return { plane: 'node' };
  // Work before QEMU that only the Node launcher does; the supervisor still serves the container after it.
  const launcher = (why: string): DataPlaneChoice => ({ plane: 'supervisor', vmStart: 'launcher', keptLauncher: why });
  // The start plan is QEMU's argv: Firecracker is configured through its API socket by the driver.
  // Its volumes (and its image root's export) are 9P, handed over like QEMU's below.
  if (c.hypervisor === 'firecracker')
    return launcher("Firecracker is configured through its API socket by the Node launcher's driver");
  // 9P volumes: the launcher makes the link, its firewall rule and diod, then hands diod over as a
  // helper of the VM; the supervisor removes the link after the VM (teardown.h).
  if (c.volumes === '9p')
    return launcher('the 9P volume server (link, firewall rule, diod) is started by the Node launcher');
  // A CRI pod VM: the launcher sets the PortForward rule and starts the pod log copy, then the
  // supervisor relays (portfwd.h) and copies its stderr (podlog.h).
  if (c.podSandbox) return launcher("a pod VM's PortForward rule and pod log are set up by the Node launcher");
  if (c.disks > 0) return launcher('RUNCVM_DISKS files are found or made by the Node launcher');
  if (c.hostCpus) return launcher('--cpuset-cpus pins the vCPU threads through QMP from the Node launcher');
  return { plane: 'supervisor', vmStart: 'supervisor' };
}
