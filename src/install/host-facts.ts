/**
 * Gathers HostFacts (host-checks.ts) on this host: runs each binary's --version, opens
 * /dev/kvm, reads the cgroup tree, the installed kernels and the image cache. Only reads;
 * `--reprobe` (reprobe.ts) is the one doctor step that writes.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runcvmVersion } from '../common/version.ts';
import { MKE2FS } from '../launcher/disks.ts';
import { NSENTER } from '../network/netns.ts';
import { DEFAULT_CACHE_DIR, ImageCache } from '../rootfs/cache.ts';
import { type HostConfig, readHostConfig } from '../runtime/host-config.ts';
import { DEFAULT_SETTINGS, type HostSettings, readHostSettings } from '../runtime/host-settings.ts';
import { findFirecracker } from '../vmm/firecracker/driver.ts';
import { QEMU_BINARY, VIRTIOFSD_BINARY } from '../vmm/qemu/driver.ts';
import { DIOD_BINARY } from '../volumes/plan.ts';
import { agentVersion, type ComponentVersion, programVersion, runcVersion } from './component-versions.ts';
import type { HostFacts, KernelFacts } from './host-checks.ts';

function canOpenRw(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDWR));
    return true;
  } catch {
    return false;
  }
}

function isElf(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(4);
      return readSync(fd, b, 0, 4, 0) === 4 && b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

/** diod has no --version: the Debian package's version says which one is there. */
function packagedVersion(name: string, path: string, pkg: string): ComponentVersion {
  if (!existsSync(path)) return { name, path, error: `${path} not found` };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', timeout: 10_000 });
  return {
    name,
    path,
    version: r.status === 0 && r.stdout ? `${r.stdout.trim()} (Debian package ${pkg})` : 'present (version unknown)',
  };
}

function kernels(prefix: string): KernelFacts[] {
  const root = join(prefix, 'kernels');
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const dir = join(root, name);
    const missing = ['vmlinux', 'initramfs.cpio'].filter((f) => !nonEmpty(join(dir, f)));
    let release: string | undefined;
    try {
      release = readFileSync(join(dir, 'kernel.release'), 'utf8').trim();
    } catch {
      release = undefined;
    }
    return {
      name,
      dir,
      missing,
      vmlinuxIsElf: isElf(join(dir, 'vmlinux')),
      release,
      agent: agentVersion(prefix, name),
    };
  });
}

function cgroupFacts(): HostFacts['cgroup'] {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (v2) {
    const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/);
    return { version: 2, memoryController: controllers.includes('memory') };
  }
  return { version: 1, memoryController: existsSync('/sys/fs/cgroup/memory') };
}

function cacheFacts(settings: HostSettings): HostFacts['cache'] {
  const cache = new ImageCache(DEFAULT_CACHE_DIR);
  try {
    return { dir: cache.dir, images: cache.list().length, bytes: cache.totalBytes(), maxBytes: settings.cacheMaxBytes };
  } catch (e) {
    return { dir: cache.dir, images: 0, bytes: 0, maxBytes: settings.cacheMaxBytes, error: (e as Error).message };
  }
}

export function gatherHostFacts(prefix: string): HostFacts {
  const dispatcherPath = join(prefix, 'bin', 'runcvm-runtime');
  const installed = existsSync(dispatcherPath);
  let host: HostConfig | undefined;
  let hostConfigError: string | undefined;
  if (installed) {
    try {
      host = readHostConfig(prefix);
    } catch (e) {
      hostConfigError = (e as Error).message;
    }
  }
  let settings = DEFAULT_SETTINGS;
  let settingsError: string | undefined;
  try {
    settings = readHostSettings(prefix);
  } catch (e) {
    settingsError = (e as Error).message;
  }
  const runc = host?.runc ?? 'runc';
  const node = host?.node ?? process.execPath;
  const firecracker = findFirecracker(settings.firecracker);
  return {
    runcvm: runcvmVersion(),
    installed,
    dispatcher: installed
      ? programVersion('runcvm-runtime', dispatcherPath, ['--version'], /runcvm-runtime version (\S+)/)
      : undefined,
    hostConfigError,
    settingsError,
    required: [
      runcVersion(runc),
      programVersion('node', node, ['--version'], /^v(\S+)/m),
      programVersion('qemu', QEMU_BINARY, ['--version'], /QEMU emulator version (\S+)/),
      programVersion('virtiofsd', VIRTIOFSD_BINARY, ['--version'], /virtiofsd version (\S+)/),
      // `create` hands the network over with them, in the sandbox's namespace (network/netns.ts).
      programVersion('nsenter', NSENTER, ['--version'], /nsenter from util-linux (\S+)/),
      programVersion('ip', 'ip', ['-V'], /iproute2-([^,\s]+)/),
    ],
    optional: [
      {
        component: programVersion('mkfs.ext4', MKE2FS, ['-V'], /mke2fs (\S+)/),
        neededFor: 'RUNCVM_ROOTFS=image and RUNCVM_DISKS',
      },
      {
        component: packagedVersion('diod', DIOD_BINARY, 'diod'),
        neededFor: 'RUNCVM_VOLUMES=9p and Firecracker volumes',
      },
      {
        // The static busybox runcvm debug sends into the guest (cli/debug-command.ts).
        component: packagedVersion('busybox', '/bin/busybox', 'busybox-static'),
        neededFor: 'runcvm debug',
      },
      {
        component: firecracker
          ? programVersion('firecracker', firecracker, ['--version'], /Firecracker v?(\S+)/)
          : {
              name: 'firecracker',
              path: settings.firecracker ?? 'firecracker',
              error: 'not found (host setting "firecracker" or PATH)',
            },
        neededFor: 'RUNCVM_HYPERVISOR=firecracker',
      },
    ],
    devKvm: { exists: existsSync('/dev/kvm'), openRw: canOpenRw('/dev/kvm') },
    kvmProbe: host?.kvm,
    allowTcg: host?.allowTcg ?? false,
    devices: ['/dev/net/tun', '/dev/vhost-net', '/dev/vhost-vsock'].map((path) => ({ path, exists: existsSync(path) })),
    cgroup: cgroupFacts(),
    kernels: kernels(prefix),
    cache: cacheFacts(settings),
  };
}
