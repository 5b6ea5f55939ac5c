/**
 * The closed sets of modes the processes agree on (create writes them into spec.json, the
 * launcher and the VMM drivers act on them). Each is a tuple so a parser can list the allowed
 * values in its error and the type is the union of its members.
 */

export const HYPERVISORS = ['qemu', 'firecracker'] as const;
export type Hypervisor = (typeof HYPERVISORS)[number];

export const ACCELS = ['kvm', 'tcg'] as const;
export type Accel = (typeof ACCELS)[number];

export const ROOTFS_MODES = ['virtiofs', 'image'] as const;
export type RootfsMode = (typeof ROOTFS_MODES)[number];

/**
 * Guest kernels `runcvm install` puts under <prefix>/kernels: runcvm, built by the project with
 * everything a container needs built in (guest/kernel/), and Debian's generic kernel with its
 * modules (the fallback for a feature the runcvm kernel lacks). docs/architecture.md.
 */
export const KERNELS = ['runcvm', 'debian'] as const;
/**
 * Who runs a started container's data plane: the static C supervisor (src/launcher/supervisor)
 * that takes over once QEMU runs, or the Node launcher for the container's whole life.
 */
export const DATA_PLANES = ['node', 'supervisor'] as const;
export type DataPlane = (typeof DATA_PLANES)[number];
/**
 * The data plane when RUNCVM_DATA_PLANE is unset: the C supervisor, so that no Node process stays
 * per container once it runs (the whole e2e suite passes on it, docs/testing.md). The Node
 * launcher stays selectable (RUNCVM_DATA_PLANE=node, tested by the e2e-node stage of
 * scripts/test.sh). Which containers keep the Node launcher whatever this says: dataPlaneFor
 * (src/runtime/data-plane.ts).
 */
export const DEFAULT_DATA_PLANE: DataPlane = 'supervisor';
export type KernelName = (typeof KERNELS)[number];
/**
 * The kernel a container boots when RUNCVM_KERNEL is unset: runcvm, since the whole e2e suite
 * passes on it (docs/testing.md); debian stays selectable and tested (the run/exec/lifecycle
 * suites run on it as a stage of scripts/test.sh).
 */
export const DEFAULT_KERNEL: KernelName = 'runcvm';

/** How bind mounts and volumes reach the guest: virtiofs, or a jailed 9P server over a private link (src/volumes/). */
export const VOLUME_MODES = ['virtiofs', '9p'] as const;
export type VolumeMode = (typeof VOLUME_MODES)[number];

/** own: the container has its own netns to hand to the VM; shared: host or another container's. */
export type NetworkMode = 'own' | 'shared';
