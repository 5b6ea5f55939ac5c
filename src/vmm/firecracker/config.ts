/**
 * VM description → the Firecracker API calls that configure and start it (pure; the driver
 * sends them). Every body is checked against Firecracker's own API spec in config.test.ts.
 */
import type { VmSpec } from '../vm-spec.ts';
import { VmmUnavailableError } from '../driver.ts';
import type { ApiCall } from './api-client.ts';

/** The guest's vsock context id: one VM per Firecracker process, so a constant is enough. */
export const GUEST_CID = 3;
export const AGENT_VSOCK_PORT = 1024;

export interface FirecrackerPaths {
  apiSocket: string;
  vsockSocket: string;
}

/** Firecracker accepts 1 or an even number of vCPUs (API spec, MachineConfiguration). */
export function firecrackerVcpus(cpus: number): number {
  if (cpus <= 1) return 1;
  return Math.min(32, cpus % 2 === 0 ? cpus : cpus + 1);
}

export function firecrackerCalls(vm: VmSpec, paths: FirecrackerPaths, opts: { balloon: boolean } = { balloon: true }): ApiCall[] {
  if (vm.fsShares.length > 0) {
    throw new VmmUnavailableError('RUNCVM_HYPERVISOR=firecracker: Firecracker has no virtiofs; the rootfs must be an image (RUNCVM_ROOTFS=image)');
  }
  const calls: ApiCall[] = [
    { method: 'PUT', path: '/machine-config', body: { vcpu_count: firecrackerVcpus(vm.cpus), mem_size_mib: vm.memoryMiB, smt: false } },
    // Firecracker's default boot args include `nomodule`; the Debian kernel needs its modules.
    { method: 'PUT', path: '/boot-source', body: { kernel_image_path: vm.kernel, initrd_path: vm.initrd, boot_args: vm.cmdline.join(' ') } },
  ];
  for (const d of vm.blockDevices) {
    calls.push({ method: 'PUT', path: `/drives/${d.id}`, body: { drive_id: d.id, path_on_host: d.path, is_root_device: false, is_read_only: d.readonly } });
  }
  for (const n of vm.nics) {
    if (n.backend.kind !== 'tap') {
      throw new VmmUnavailableError('RUNCVM_HYPERVISOR=firecracker: only tap networking exists in Firecracker (no user-mode network for --network host)');
    }
    calls.push({ method: 'PUT', path: `/network-interfaces/${n.id}`, body: { iface_id: n.id, host_dev_name: n.backend.tap, guest_mac: n.mac } });
  }
  calls.push({ method: 'PUT', path: '/vsock', body: { guest_cid: GUEST_CID, uds_path: paths.vsockSocket } });
  if (opts.balloon) calls.push({ method: 'PUT', path: '/balloon', body: { amount_mib: 0, deflate_on_oom: true, free_page_reporting: true } });
  calls.push({ method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } });
  return calls;
}

export const CTRL_ALT_DEL: ApiCall = { method: 'PUT', path: '/actions', body: { action_type: 'SendCtrlAltDel' } };
