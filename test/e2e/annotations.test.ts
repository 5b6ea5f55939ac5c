/**
 * Options as OCI annotations (org.runcvm.<name>) and the precedence -e > annotation > image ENV
 * (docs/options.md), through engines that pass annotations: Podman --annotation (Debian's Docker
 * 20.10 here has no --annotation; Docker 24+ passes them the same way). The option used is
 * RUNCVM_KERNEL_APPEND because its effect is visible in the guest's /proc/cmdline. RUNCVM_*
 * variables never reach the workload's environment, under Docker or Podman, in run or exec.
 */

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BUSYBOX, docker, PREFIX, run, runVm, uniqueName } from './docker.ts';

/** An image whose ENV sets a runcvm option (and an ordinary variable). */
const ENV_IMAGE = `runcvm-test/product-env-${process.pid}`;
const FROM = (who: string) => `runcvm_from=${who}`;

before(async () => {
  const b = await docker(['build', '-q', '-t', ENV_IMAGE, '-'], {
    input: `FROM ${BUSYBOX}\nENV RUNCVM_KERNEL_APPEND=${FROM('image')} KEEP=me\n`,
  });
  assert.equal(b.code, 0, b.stderr);
});
after(async () => {
  await docker(['rmi', '-f', ENV_IMAGE]);
});

describe('docker', { timeout: 600_000 }, () => {
  test('image ENV applies, -e beats it, and the workload sees neither RUNCVM_ variable', async () => {
    const a = await runVm([ENV_IMAGE, 'sh', '-c', 'cat /proc/cmdline; env']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`\\b${FROM('image')}\\b`));
    assert.doesNotMatch(a.stdout, /^RUNCVM_/m);
    assert.match(a.stdout, /^KEEP=me$/m);
    const b = await runVm([
      '-e',
      `RUNCVM_KERNEL_APPEND=${FROM('cli')}`,
      '-e',
      'RUNCVM_KERNEL_DEBUG=0',
      ENV_IMAGE,
      'sh',
      '-c',
      'cat /proc/cmdline; env',
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`\\b${FROM('cli')}\\b`));
    assert.doesNotMatch(b.stdout, new RegExp(FROM('image')));
    assert.doesNotMatch(b.stdout, /^RUNCVM_/m);
  });

  test('docker exec does not see RUNCVM_ variables either', async () => {
    const name = uniqueName('product-env');
    const d = await docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${process.env.RUNCVM_RUNTIME ?? 'runcvm'}`,
      '-e',
      'RUNCVM_KERNEL_DEBUG=0',
      ENV_IMAGE,
      'sleep',
      '600',
    ]);
    assert.equal(d.code, 0, d.stderr);
    try {
      const e = await docker(['exec', '-e', 'RUNCVM_TIMING=0', name, 'env'], { timeoutMs: 120_000 });
      assert.equal(e.code, 0, e.stderr);
      assert.match(e.stdout, /^KEEP=me$/m);
      assert.doesNotMatch(e.stdout, /^RUNCVM_/m);
    } finally {
      await docker(['rm', '-f', name]);
    }
  });
});

describe('podman --annotation', { timeout: 900_000 }, () => {
  const conf = `/tmp/runcvm-e2e-product-podman-${process.pid}.conf`;
  const podman = (args: string[]) => run('env', [`CONTAINERS_CONF=${conf}`, 'podman', ...args], { timeoutMs: 240_000 });
  const vm = (args: string[]) => podman(['run', '--rm', '--network', 'none', '--runtime', 'runcvm', ...args]);
  before(async () => {
    const snippet = await run(`${PREFIX}/bin/runcvm`, ['podman-config']);
    assert.equal(snippet.code, 0, snippet.stderr);
    // Podman's default ulimits are more than runc may set on this machine (engines.test.ts).
    writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n\n${snippet.stdout}`);
    const tar = `/tmp/runcvm-e2e-product-${process.pid}.tar`;
    assert.equal((await docker(['save', '-o', tar, ENV_IMAGE, BUSYBOX])).code, 0);
    const l = await podman(['load', '-i', tar]);
    rmSync(tar, { force: true });
    assert.equal(l.code, 0, l.stderr);
  });
  after(async () => {
    await podman(['rmi', '-f', `localhost/${ENV_IMAGE}`]);
    rmSync(conf, { force: true });
  });

  test('an annotation alone sets the option; the workload sees no RUNCVM_ variable', async () => {
    const r = await vm([
      '--annotation',
      `org.runcvm.kernel_append=${FROM('annotation')}`,
      BUSYBOX,
      'sh',
      '-c',
      'cat /proc/cmdline; env',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`\\b${FROM('annotation')}\\b`));
    assert.doesNotMatch(r.stdout, /^RUNCVM_/m);
  });

  test('the annotation beats the image ENV, and -e beats the annotation', async () => {
    const a = await vm([
      '--annotation',
      `org.runcvm.kernel_append=${FROM('annotation')}`,
      ENV_IMAGE,
      'cat',
      '/proc/cmdline',
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, new RegExp(`\\b${FROM('annotation')}\\b`));
    assert.doesNotMatch(a.stdout, new RegExp(FROM('image')));
    const b = await vm([
      '--annotation',
      `org.runcvm.kernel_append=${FROM('annotation')}`,
      '-e',
      `RUNCVM_KERNEL_APPEND=${FROM('cli')}`,
      ENV_IMAGE,
      'cat',
      '/proc/cmdline',
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`\\b${FROM('cli')}\\b`));
    assert.doesNotMatch(b.stdout, new RegExp(`${FROM('annotation')}|${FROM('image')}`));
  });

  test('an annotation gets the same validation as the variable, and the error names the annotation', async () => {
    const r = await vm(['--annotation', 'org.runcvm.hypervisor=xen', BUSYBOX, 'true']);
    assert.notEqual(r.code, 0);
    // Podman shows the runtime's log line as it is, with its quotes escaped.
    assert.match(
      r.stderr,
      /annotation org\.runcvm\.hypervisor \(RUNCVM_HYPERVISOR\): unknown value \\?"xen\\?" \(allowed: qemu, firecracker\)/,
    );
    const u = await vm(['--annotation', 'org.runcvm.frobnicate=1', BUSYBOX, 'true']);
    assert.notEqual(u.code, 0);
    assert.match(u.stderr, /annotation org\.runcvm\.frobnicate \(RUNCVM_FROBNICATE\): unknown option/);
  });
});
