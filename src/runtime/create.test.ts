/**
 * `create` validates everything before it acts: planCreate is computed from its inputs (the
 * OCI spec, the host facts, probes the test passes), and a container it refuses leaves the
 * bundle as it was, with no image drive planned into existence, built or pruned.
 */

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeError, OptionError, RuncvmError } from '../contracts/errors.ts';
import { DEFAULT_KERNEL } from '../contracts/kinds.ts';
import type { OciSpec } from '../oci/spec.ts';
import type { ImageRootPlan } from '../rootfs/image-root.ts';
import type { RuntimeArgs } from './cli-args.ts';
import { type CreateProbes, create, planCreate, withImageRoot } from './create.ts';
import { DEFAULT_SETTINGS } from './host-settings.ts';

interface Fixture {
  dir: string;
  prefix: string;
  bundle: string;
  rootfs: string;
}

function fixture(): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-create-'));
  const prefix = join(dir, 'prefix');
  const bundle = join(dir, 'bundle');
  const rootfs = join(dir, 'rootfs');
  for (const d of [join(prefix, 'kernels', DEFAULT_KERNEL), join(prefix, 'etc'), bundle, join(rootfs, 'bin')])
    mkdirSync(d, { recursive: true });
  for (const f of ['vmlinux', 'initramfs.cpio']) writeFileSync(join(prefix, 'kernels', DEFAULT_KERNEL, f), '');
  writeFileSync(join(rootfs, 'bin', 'sh'), '#!/bin/sh\n');
  chmodSync(join(rootfs, 'bin', 'sh'), 0o755);
  return { dir, prefix, bundle, rootfs };
}

function ociSpec(f: Fixture, env: string[], args = ['sh']): OciSpec {
  return {
    ociVersion: '1.0.2',
    process: { args, env: ['PATH=/bin', ...env], cwd: '/', user: { uid: 0, gid: 0 } },
    root: { path: f.rootfs },
    hostname: 'h',
    mounts: [],
    linux: { namespaces: [{ type: 'network' }] },
  };
}

const HOST = {
  runc: '/nonexistent/runc',
  node: '/usr/bin/node',
  allowTcg: true,
  kvm: { usable: false, reason: 'test' },
  hostDirs: [],
  settings: { ...DEFAULT_SETTINGS },
};

function runtimeArgs(f: Fixture): RuntimeArgs {
  return { verb: 'create', bundle: f.bundle, containerId: 'c0ffee' } as RuntimeArgs;
}

/** Probes that record what planCreate asked for; the image plan is a fixed one. */
function probes(calls: string[]): CreateProbes {
  const image: ImageRootPlan = {
    rootPath: '/r',
    layers: { image: ['/l1'], upper: '/layer/diff' },
    key: 'k',
    label: 'test',
    dir: '/layer/runcvm',
    baseFile: '/cache/k.ext4',
  } as ImageRootPlan;
  return {
    kvmUsable: () => {
      calls.push('kvm');
      return false;
    },
    checkHost: (h) => void calls.push(`checkHost ${h}`),
    planImageRoot: () => {
      calls.push('planImageRoot');
      return image;
    },
  };
}

test('a valid container is planned from its inputs: options, accelerator, mounts, command', () => {
  const f = fixture();
  try {
    const calls: string[] = [];
    const plan = planCreate(
      ociSpec(f, ['RUNCVM_KERNEL_APPEND=quiet']),
      runtimeArgs(f),
      f.prefix,
      HOST,
      1,
      probes(calls),
    );
    assert.equal(plan.accel, 'tcg');
    assert.equal(plan.launch.hypervisor, 'qemu');
    assert.equal(plan.launch.kernelAppend, 'quiet');
    assert.deepEqual(plan.launch.process.args, ['sh']);
    assert.equal(plan.image, undefined);
    assert.deepEqual(calls, ['kvm', 'checkHost qemu']);
    assert.deepEqual(readdirSync(f.bundle), [], 'planning wrote into the bundle');
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});

test('the data plane: the supervisor starts the VM itself by default, the Node launcher starts a pod VM and hands it over, and runs alone on request', () => {
  const f = fixture();
  try {
    const supervised = (p: ReturnType<typeof planCreate>) =>
      p.config.process?.args?.some((a) => a.endsWith('/bin/runcvm-supervisor')) ?? false;
    const plain = planCreate(ociSpec(f, []), runtimeArgs(f), f.prefix, HOST, 1, probes([]));
    assert.deepEqual(plain.dataPlane, { plane: 'supervisor', vmStart: 'supervisor' });
    assert.equal(supervised(plain), true);
    assert.equal(plain.joinable, true, 'the supervisor serves the pod socket of a joinable VM');
    const pod = planCreate(ociSpec(f, []), runtimeArgs(f), f.prefix, HOST, 1, probes([]), true);
    assert.equal(pod.dataPlane.plane, 'supervisor');
    assert.equal(pod.dataPlane.vmStart, 'launcher', "the launcher sets a pod VM's PortForward rule and pod log up");
    assert.equal(supervised(pod), true);
    const node = planCreate(ociSpec(f, ['RUNCVM_DATA_PLANE=node']), runtimeArgs(f), f.prefix, HOST, 1, probes([]));
    assert.equal(supervised(node), false);
    assert.equal(node.joinable, true);
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});

test('RUNCVM_ROOTFS=image: the drives are planned, not built; spec.json gets them once built', () => {
  const f = fixture();
  try {
    const calls: string[] = [];
    const plan = planCreate(ociSpec(f, ['RUNCVM_ROOTFS=image']), runtimeArgs(f), f.prefix, HOST, 1, probes(calls));
    assert.equal(plan.image?.dir, '/layer/runcvm');
    assert.equal(plan.launch.rootImage, undefined);
    assert.ok(
      plan.config.mounts?.some((m) => m.source === '/cache/k.ext4'),
      'the planned base image is bound in',
    );
    const launch = withImageRoot(plan, {
      dir: '/layer/runcvm',
      baseFile: '/cache/k.ext4',
      lowers: ['base.ext4'],
      upper: 'upper.ext4',
      cacheKey: 'k',
      cacheBuilt: false,
    });
    assert.deepEqual(launch.rootImage, { mode: 'image', lowers: ['base.ext4'], upper: 'upper.ext4' });
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});

test('refusals come from the inputs alone, each naming the option', () => {
  const f = fixture();
  try {
    const refuse = (env: string[], re: RegExp, args?: string[]) => {
      const calls: string[] = [];
      assert.throws(
        () => planCreate(ociSpec(f, env, args), runtimeArgs(f), f.prefix, HOST, 1, probes(calls)),
        (e: unknown) => e instanceof OptionError && re.test(describeError(e)),
      );
      return calls;
    };
    refuse(['RUNCVM_HYPERVISOR=xen'], /RUNCVM_HYPERVISOR: unknown value "xen" \(allowed: qemu, firecracker\)/);
    refuse(['RUNCVM_KERNEL=nope'], /RUNCVM_KERNEL: unknown value "nope" \(allowed: runcvm, debian\)/);
    refuse(['RUNCVM_ACCEL=kvm'], /RUNCVM_ACCEL=kvm: \/dev\/kvm is missing/);
    refuse(['RUNCVM_VOLUMES=9p'], /RUNCVM_VOLUMES=9p: no iptables/);
    // The command lookup is the last check: with an image root it comes after the drives are
    // planned, and nothing has been built yet (planCreate cannot build: create does, after it).
    const calls = refuse(
      ['RUNCVM_ROOTFS=image'],
      /unable to start container process: exec: "nosuch": executable file not found in \$PATH/,
      ['nosuch'],
    );
    assert.deepEqual(calls, ['kvm', 'checkHost qemu', 'planImageRoot']);
    assert.deepEqual(readdirSync(f.bundle), []);
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});

test('a container create refuses leaves the bundle as it was and never runs runc', () => {
  const f = fixture();
  try {
    writeFileSync(
      join(f.prefix, 'etc', 'host.json'),
      JSON.stringify({ runc: '/nonexistent/runc', node: '/usr/bin/node', allowTcg: true, hostDirs: [] }),
    );
    for (const [env, args] of [
      [['RUNCVM_HYPERVISOR=xen'], ['sh']],
      [[], ['nosuch']],
    ] as const) {
      const config = JSON.stringify(ociSpec(f, [...env], [...args]));
      writeFileSync(join(f.bundle, 'config.json'), config);
      const logged: string[] = [];
      // runc is /nonexistent: reaching it would fail with "running /nonexistent/runc", not the refusal.
      assert.throws(() => create(runtimeArgs(f), ['create'], f.prefix, (_l, m) => logged.push(m)), RuncvmError);
      assert.deepEqual(readdirSync(f.bundle), ['config.json']);
      assert.equal(readFileSync(join(f.bundle, 'config.json'), 'utf8'), config, 'config.json was rewritten');
    }
  } finally {
    rmSync(f.dir, { recursive: true });
  }
});
