/**
 * The bare VM the benchmark parts compare against: the container's VM shape (1 vCPU, 512 MiB, the
 * installed kernel and initramfs) with only the agent's channel, no container. run.ts times its
 * boot, qemu-memory.ts its own memory per translation-cache size, snapshot.ts saves and restores
 * it. One definition, so every part measures the same VM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelName } from '../src/contracts/kinds.ts';
import { qemuArgv, qemuPaths } from '../src/vmm/qemu/argv.ts';
import { guestCmdline } from '../src/vmm/vm-spec.ts';

export interface HostFacts {
  accel: 'kvm' | 'tcg';
  tscKhz?: number;
}

/** What `runcvm install` found about this host (etc/host.json of the install under test). */
export function hostFacts(prefix: string): HostFacts {
  const host = JSON.parse(readFileSync(join(prefix, 'etc/host.json'), 'utf8')) as {
    kvm: { usable: boolean };
    tscKhz?: number;
  };
  return { accel: host.kvm.usable ? 'kvm' : 'tcg', tscKhz: host.tscKhz };
}

export interface BareVmOptions {
  prefix: string;
  kernel: KernelName;
  runDir: string;
  /** QEMU's name for the VM (-name). */
  name: string;
  /** The agent powers the VM off at once instead of waiting for a host (runcvm.poweroff=1). */
  powerOff?: boolean;
  /** Agent and kernel say more on the console. */
  debug?: boolean;
  /** A virtiofs share tagged `root` served from this socket's virtiofsd (snapshot.ts's migration check). */
  fsShare?: string;
  /** Overrides install's accelerator (qemu-memory.ts measures TCG only). */
  accel?: 'kvm' | 'tcg';
}

export function bareVmArgv(o: BareVmOptions): string[] {
  const host = hostFacts(o.prefix);
  const accel = o.accel ?? host.accel;
  return qemuArgv(
    {
      name: o.name,
      accel,
      cpus: 1,
      memoryMiB: 512,
      kernel: join(o.prefix, `kernels/${o.kernel}/vmlinux`),
      initrd: join(o.prefix, `kernels/${o.kernel}/initramfs.cpio`),
      cmdline: [
        ...guestCmdline({ accel, tscKhz: host.tscKhz, debug: o.debug ?? false, kernelDebug: false, append: '' }),
        ...(o.powerOff ? ['runcvm.poweroff=1'] : []),
      ],
      fsShares: o.fsShare ? [{ tag: 'root', source: o.fsShare }] : [],
      blockDevices: [],
      nics: [],
      runDir: o.runDir,
      consoleToStderr: false,
    },
    qemuPaths(o.runDir),
  );
}
