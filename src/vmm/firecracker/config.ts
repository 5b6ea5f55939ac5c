/**
 * VM description → the Firecracker API calls that configure and start it (pure; the driver
 * sends them). Every call is checked in config.test.ts against runcvm's contract for
 * Firecracker's API (testdata/api-contract.ts).
 */

import { VmmUnavailableError } from '../driver.ts';
import type { VmSpec } from '../vm-spec.ts';
import type { ApiCall } from './api-client.ts';

/** The guest's vsock context id: one VM per Firecracker process, so a constant is enough. */
export const GUEST_CID = 3;
/** The agent listens here when the VM has no virtio console (guest/agent/channel.h). */
export const AGENT_VSOCK_PORT = 1024;

/**
 * Boot arguments Firecracker needs on top of the shared ones. Its own defaults are not used
 * (they include `nomodule`, and the Debian kernel's virtio drivers are modules): `reboot=k` makes
 * a guest reset go through the i8042 controller, the one guest exit Firecracker acts on (x86),
 * and `runcvm.exit=reset` makes the agent end with a reset instead of a power-off. The i8042
 * options are those Firecracker recommends for its minimal keyboard controller; pci=off because
 * it has no PCI bus unless asked for one.
 */
export const FIRECRACKER_BOOT_ARGS = [
  'reboot=k',
  'runcvm.exit=reset',
  'pci=off',
  'i8042.noaux',
  'i8042.nomux',
  'i8042.dumbkbd',
];

export interface FirecrackerPaths {
  apiSocket: string;
  vsockSocket: string;
}

export type FirecrackerVersion = [number, number, number];

/** Firecracker accepts 1 or an even number of vCPUs (API spec, MachineConfiguration). */
export function firecrackerVcpus(cpus: number): number {
  if (cpus <= 1) return 1;
  return Math.min(32, cpus % 2 === 0 ? cpus : cpus + 1);
}

/** Throws, naming the option, for what Firecracker cannot do. */
export function assertSupported(vm: VmSpec): void {
  if (vm.accel !== 'kvm') {
    throw new VmmUnavailableError(
      'RUNCVM_HYPERVISOR=firecracker: Firecracker runs only under KVM (RUNCVM_ACCEL=tcg is for qemu)',
    );
  }
  if (vm.fsShares.length > 0) {
    throw new VmmUnavailableError(
      'RUNCVM_HYPERVISOR=firecracker: Firecracker has no virtiofs; the rootfs must be an image (RUNCVM_ROOTFS=image) and volumes need a network filesystem',
    );
  }
  if (vm.nics.some((n) => n.backend.kind !== 'tap')) {
    throw new VmmUnavailableError(
      'RUNCVM_HYPERVISOR=firecracker: only tap networking exists in Firecracker (no user-mode network for --network host or a shared network namespace)',
    );
  }
}

function atLeast(v: FirecrackerVersion, major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

export function firecrackerCalls(
  vm: VmSpec,
  paths: FirecrackerPaths,
  opts: { balloon: boolean; version: FirecrackerVersion },
): ApiCall[] {
  assertSupported(vm);
  const calls: ApiCall[] = [
    {
      method: 'PUT',
      path: '/machine-config',
      body: { vcpu_count: firecrackerVcpus(vm.cpus), mem_size_mib: vm.memoryMiB, smt: false },
    },
    {
      method: 'PUT',
      path: '/boot-source',
      body: {
        kernel_image_path: vm.kernel,
        initrd_path: vm.initrd,
        boot_args: [...vm.cmdline, ...FIRECRACKER_BOOT_ARGS].join(' '),
      },
    },
  ];
  // Attach order is the order the guest counts drives in (DRIVE_ORDER): keep VmSpec's order.
  // Writable drives get "Writeback": Firecracker then offers the guest a flush command and
  // fsync()s the file on it, so a guest fsync reaches the host's disk as with QEMU's default
  // cache mode. Its default ("Unsafe") offers no flush: the data would stop in the page cache.
  for (const d of vm.blockDevices) {
    const cache = d.readonly ? {} : { cache_type: 'Writeback' };
    calls.push({
      method: 'PUT',
      path: `/drives/${d.id}`,
      body: { drive_id: d.id, path_on_host: d.path, is_root_device: false, is_read_only: d.readonly, ...cache },
    });
  }
  for (const n of vm.nics) {
    if (n.backend.kind !== 'tap') continue; // refused by assertSupported
    calls.push({
      method: 'PUT',
      path: `/network-interfaces/${n.id}`,
      body: { iface_id: n.id, host_dev_name: n.backend.tap, guest_mac: n.mac },
    });
  }
  calls.push({ method: 'PUT', path: '/vsock', body: { guest_cid: GUEST_CID, uds_path: paths.vsockSocket } });
  if (opts.balloon) {
    // Free page reporting returns freed guest memory to the host; older versions lack the field.
    const reporting = atLeast(opts.version, 1, 14) ? { free_page_reporting: true } : {};
    // No deflate on OOM: after a docker update the cgroup only covers the shrunk guest.
    calls.push({ method: 'PUT', path: '/balloon', body: { amount_mib: 0, deflate_on_oom: false, ...reporting } });
  }
  calls.push({ method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } });
  return calls;
}

export const CTRL_ALT_DEL: ApiCall = { method: 'PUT', path: '/actions', body: { action_type: 'SendCtrlAltDel' } };
