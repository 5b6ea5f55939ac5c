/**
 * Protocol test of the Firecracker driver: its whole start/stop sequence against a stand-in
 * program (testdata/fake-firecracker.ts) that checks every API request against runcvm's contract
 * for Firecracker's v1.16.1 API (testdata/api-contract.ts) and answers as Firecracker does, plus
 * the vsock handshake over a real Unix socket.
 * It shows our side of the conversation is right; it is not evidence that Firecracker boots our
 * guest (that is test/e2e/firecracker.test.ts, run where Firecracker and KVM exist).
 */

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeFrame, type Frame, FrameDecoder, MsgType } from '../../agent-protocol/frame.ts';
import type { VmSpec } from '../vm-spec.ts';
import { FirecrackerApi } from './api-client.ts';
import { binaryVersionProblem, firecrackerPaths, makeFirecrackerDriver } from './driver.ts';

const FIXTURE = fileURLToPath(new URL('./testdata/fake-firecracker.ts', import.meta.url));

interface LogEntry {
  method?: string;
  path?: string;
  body?: unknown;
  problems?: string[];
  vsock?: string;
  frame?: number;
}

function setUp() {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-fc-proto-'));
  const binary = join(dir, 'firecracker');
  // An executable named like the real one, as the driver and the host setting "firecracker" expect.
  writeFileSync(
    binary,
    `#!/bin/sh\nexec '${process.execPath}' --import '${import.meta.resolve('tsx')}' '${FIXTURE}' "$@"\n`,
  );
  chmodSync(binary, 0o755);
  const logFile = join(dir, 'requests.jsonl');
  const vm: VmSpec = {
    name: 'runcvm-0123456789ab',
    accel: 'kvm',
    cpus: 2,
    memoryMiB: 256,
    kernel: '/k/vmlinux',
    initrd: '/k/initramfs.cpio',
    cmdline: ['console=ttyS0', 'panic=-1'],
    fsShares: [],
    blockDevices: [
      { id: 'rootfs', path: join(dir, 'base.ext4'), readonly: true, serial: 'runcvm-root' },
      { id: 'upper', path: join(dir, 'upper.ext4'), readonly: false, serial: 'runcvm-upper' },
    ],
    nics: [{ id: 'net0', mac: '02:42:ac:11:00:02', backend: { kind: 'tap', tap: 'tap0' } }],
    runDir: dir,
    consoleToStderr: false,
    vmmBinary: binary,
  };
  const log = (): LogEntry[] => {
    try {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogEntry);
    } catch {
      return [];
    }
  };
  const env = (extra: Record<string, string> = {}) => {
    process.env.FAKE_FC_LOG = logFile;
    delete process.env.FAKE_FC_VERSION;
    delete process.env.FAKE_FC_IGNORE_CAD;
    Object.assign(process.env, extra);
  };
  return { dir, binary, vm, log, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function nextFrame(sock: Socket): Promise<Frame> {
  const dec = new FrameDecoder();
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      const [f] = dec.push(d);
      if (f) {
        sock.off('data', onData);
        resolve(f);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.resume();
  });
}

// Generous: under a loaded CI host the stand-in may take a while to exit after SendCtrlAltDel.
const driver = makeFirecrackerDriver({
  imageRootfs: (c) => c.rootfs === 'image',
  version: binaryVersionProblem,
  ctrlAltDelGraceMs: 2000,
});

test('checkHost runs `firecracker --version` and names what is missing', () => {
  const t = setUp();
  try {
    t.env();
    const check = { kernel: '/k', initrd: '/i', kvm: true, firecracker: t.binary };
    assert.deepEqual(driver.checkHost({ ...check, rootfs: 'image' }), { vmmBinary: t.binary });
    assert.throws(() => driver.checkHost(check), /needs RUNCVM_ROOTFS=image \(Firecracker has no virtiofs\)/);
    assert.throws(
      () => driver.checkHost({ ...check, kvm: false, rootfs: 'image' }),
      /not available on this host: no usable \/dev\/kvm/,
    );
    assert.throws(
      () => driver.checkHost({ ...check, accel: 'tcg', rootfs: 'image' }),
      /not available on this host: KVM is not usable \(the install's KVM probe failed, or RUNCVM_ACCEL=tcg\)/,
    );
    assert.deepEqual(driver.checkHost({ ...check, accel: 'kvm', rootfs: 'image' }), { vmmBinary: t.binary });
    const jailed = { ...check, rootfs: 'image' as const, jailer: true };
    assert.throws(
      () => driver.checkHost(jailed),
      /host setting "jailer": true is not supported yet: the jailer needs CAP_SYS_ADMIN/,
    );
    assert.deepEqual(driver.checkHost({ ...jailed, jailer: false }), { vmmBinary: t.binary });
    t.env({ FAKE_FC_VERSION: '1.7.1' });
    assert.throws(
      () => driver.checkHost({ ...check, rootfs: 'image' }),
      /firecracker v1\.7\.1 is not supported \(this runcvm supports v1\.8\.x to v1\.16\.x\)/,
    );
  } finally {
    t.cleanup();
  }
});

test('start configures Firecracker with requests that keep the contract, the agent answers over vsock, SHUTDOWN ends the VM', async () => {
  const t = setUp();
  t.env();
  try {
    const vm = await driver.start(t.vm);
    const api = t.log().filter((e) => e.method);
    assert.deepEqual(
      api.map((e) => `${e.method} ${e.path}`),
      [
        'GET /version',
        'PUT /machine-config',
        'PUT /boot-source',
        'PUT /drives/rootfs',
        'PUT /drives/upper',
        'PUT /network-interfaces/net0',
        'PUT /vsock',
        'PUT /balloon',
        'PUT /actions',
      ],
    );
    for (const e of api) assert.deepEqual(e.problems, [], `${e.method} ${e.path}`);
    assert.deepEqual(vm.driveOrder, ['runcvm-root', 'runcvm-upper'], 'drives are identified by attach order');
    // The stand-in's check is live: a body that breaks the contract gets Firecracker's 400.
    const fc = new FirecrackerApi(firecrackerPaths(t.dir).apiSocket);
    await assert.rejects(
      fc.call({ method: 'PUT', path: '/machine-config', body: { vcpu_count: 2, mem_size_mb: 256 } }),
      /HTTP 400: PUT \/machine-config: "mem_size_mib" is required; PUT \/machine-config: unknown field "mem_size_mb"/,
    );

    const channel = await vm.connectAgent(new AbortController().signal);
    const hello = await nextFrame(channel as Socket);
    assert.equal(hello.type, MsgType.HELLO);
    assert.deepEqual(
      t
        .log()
        .filter((e) => e.vsock)
        .map((e) => e.vsock),
      ['CONNECT 1024', 'CONNECT 1024'],
      'retried after the guest was not listening',
    );

    channel.write(encodeFrame(MsgType.SHUTDOWN, 0));
    assert.deepEqual(await vm.exited, { code: 0, signal: null });
    channel.destroy();
  } finally {
    t.cleanup();
  }
});

test('kill asks with SendCtrlAltDel first and SIGKILLs a VM that ignores it', async () => {
  const t = setUp();
  try {
    t.env();
    const polite = await driver.start(t.vm);
    await polite.kill();
    assert.deepEqual(await polite.exited, { code: 0, signal: null });
    assert.deepEqual(
      t
        .log()
        .filter((e) => e.method)
        .at(-1)?.body,
      { action_type: 'SendCtrlAltDel' },
    );

    t.env({ FAKE_FC_IGNORE_CAD: '1' });
    const hung = await driver.start(t.vm);
    await hung.kill();
    assert.deepEqual(await hung.exited, { code: null, signal: 'SIGKILL' });
  } finally {
    t.cleanup();
  }
});

test('start refuses an unsupported version, and a request Firecracker rejects fails the start with its message', async () => {
  const t = setUp();
  try {
    t.env({ FAKE_FC_VERSION: '1.17.0' });
    await assert.rejects(driver.start(t.vm), /RUNCVM_HYPERVISOR=firecracker: firecracker v1\.17\.0 is not supported/);
    t.env();
    const bad = { ...t.vm, blockDevices: [{ id: 'a/b', path: '/x', readonly: true, serial: 's' }] };
    await assert.rejects(driver.start(bad), /firecracker API PUT \/drives\/a\/b: HTTP 400: .*not an endpoint/);
    await assert.rejects(driver.start({ ...t.vm, fsShares: [{ tag: 'root', source: '/vm' }] }), /no virtiofs/);
    await assert.rejects(
      driver.start({ ...t.vm, vmmBinary: join(t.dir, 'missing') }),
      /RUNCVM_HYPERVISOR=firecracker: cannot run .*missing: spawn .*ENOENT/,
    );
  } finally {
    t.cleanup();
  }
});
