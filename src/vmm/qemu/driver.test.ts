import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeQemuDriver } from './driver.ts';

function files(): { dir: string; kernel: string; initrd: string; bin: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-qemu-check-'));
  for (const f of ['vmlinux', 'initramfs.cpio', 'bin']) writeFileSync(join(dir, f), '');
  return { dir, kernel: join(dir, 'vmlinux'), initrd: join(dir, 'initramfs.cpio'), bin: join(dir, 'bin') };
}

test('a missing QEMU binary, virtiofsd or kernel is named with its path and a fix', () => {
  const f = files();
  try {
    const check = { kvm: false, kernel: f.kernel, initrd: f.initrd, env: [] };
    assert.doesNotThrow(() => makeQemuDriver({ qemu: f.bin, virtiofsd: f.bin }).checkHost(check));
    assert.throws(
      () => makeQemuDriver({ qemu: '/nonexistent/qemu-system-x86_64', virtiofsd: f.bin }).checkHost(check),
      /RUNCVM_HYPERVISOR=qemu: qemu-system-x86_64 not found at \/nonexistent\/qemu-system-x86_64 \(install the qemu-system-x86 package\)/,
    );
    assert.throws(
      () => makeQemuDriver({ qemu: f.bin, virtiofsd: '/nonexistent/virtiofsd' }).checkHost(check),
      /virtiofsd not found/,
    );
    assert.throws(
      () => makeQemuDriver({ qemu: f.bin, virtiofsd: f.bin }).checkHost({ ...check, kernel: '/nonexistent/vmlinux' }),
      /guest kernel not found at \/nonexistent\/vmlinux/,
    );
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});
