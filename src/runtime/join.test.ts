import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OptionError } from '../contracts/errors.ts';
import { POD_SOCKET_DIR, WORKLOAD_ROOT } from '../contracts/launch-spec.ts';
import type { OciNamespace, OciSpec } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import {
  checkJoinNamespaces,
  imageProcIsJoinable,
  JOIN_BASE,
  joinableMounts,
  joinShare,
  joinTarget,
  lostMessage,
} from './join.ts';
import { REWRITTEN_ANNOTATION } from './rewrite.ts';
import type { RuncListEntry } from './runc.ts';

const X = 'a'.repeat(64);
const args = { containerId: 'b'.repeat(64), bundle: '/nonexistent', globalArgv: [], verb: 'create' } as RuntimeArgs;
/** This test process stands for X: its namespaces are real, so the runtime's stat comparison runs for real. */
const me = process.pid;

function spec(namespaces: OciNamespace[], mounts: OciSpec['mounts'] = []): OciSpec {
  return {
    ociVersion: '1.0.2',
    root: { path: '/r' },
    process: { args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 } },
    mounts,
    linux: { namespaces },
  };
}

function withBundle(rewritten: boolean, f: (bundle: string) => void): void {
  const bundle = mkdtempSync(join(tmpdir(), 'runcvm-join-'));
  try {
    writeFileSync(
      join(bundle, 'config.json'),
      JSON.stringify({ annotations: rewritten ? { [REWRITTEN_ANNOTATION]: '1' } : {} }),
    );
    f(bundle);
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

const entry = (bundle: string): RuncListEntry => ({ id: X, pid: me, status: 'running', bundle });

test("X's launcher: the share over the image's /proc (rslave: later mounts propagate), the socket dir at the pod socket's", () => {
  const share = joinShare(X);
  assert.equal(share.root, `${JOIN_BASE}/${X}/root`);
  assert.deepEqual(
    joinableMounts(share).map((m) => [m.destination, m.source, m.options?.includes('rslave') ?? false]),
    [
      [`${WORKLOAD_ROOT}/proc`, share.root, true],
      [POD_SOCKET_DIR, share.sock, false],
    ],
  );
  assert.throws(() => joinShare('../etc'), /unexpected container id/);
});

test('a container with no namespace of another process never lists the runtime state', () => {
  const target = joinTarget(spec([{ type: 'network' }, { type: 'pid' }]), args, 'runc', () => {
    throw new Error('listed');
  });
  assert.equal(target, undefined);
});

test('--network container:X of a runc container (not rewritten): no join, a VM of its own as before', () => {
  withBundle(false, (bundle) => {
    const s = spec([{ type: 'network', path: `/proc/${me}/ns/net` }, { type: 'pid' }, { type: 'ipc' }]);
    assert.equal(
      joinTarget(s, args, 'runc', () => [entry(bundle)]),
      undefined,
    );
  });
});

test('--network container:X of a runcvm X whose VM cannot take containers is refused, naming the option', () => {
  withBundle(true, (bundle) => {
    const s = spec([{ type: 'network', path: `/proc/${me}/ns/net` }, { type: 'pid' }, { type: 'ipc' }]);
    assert.throws(
      () => joinTarget(s, args, 'runc', () => [entry(bundle)]),
      (e: unknown) =>
        e instanceof OptionError && /^--network container:a{12}: .*cannot take other containers/.test(e.message),
    );
  });
});

test('--pid/--ipc container:X of a runcvm X without --network container:X is refused, naming the option', () => {
  withBundle(true, (bundle) => {
    for (const [type, opt, ns] of [
      ['pid', '--pid', 'pid'],
      ['ipc', '--ipc', 'ipc'],
    ] as const) {
      const s = spec(
        [{ type: 'network' }, { type: 'pid' }, { type: 'ipc' }].map((n) =>
          n.type === type ? { type, path: `/proc/${me}/ns/${ns}` } : n,
        ) as OciNamespace[],
      );
      assert.throws(
        () => joinTarget(s, args, 'runc', () => [entry(bundle)]),
        (e: unknown) =>
          e instanceof OptionError &&
          new RegExp(`^${opt} container:a{12}: .*--network container:a{12}`).test(e.message),
      );
    }
  });
});

test("a joiner shares X's PID namespace or has its own; --pid host, another's, --ipc container:/host and --tmpfs are refused by name", () => {
  const t = { id: X, pid: 4242 };
  const base = (pid: OciNamespace | undefined, ipc: OciNamespace | undefined) =>
    [{ type: 'network', path: '/proc/4242/ns/net' }, ...(pid ? [pid] : []), ...(ipc ? [ipc] : [])] as OciNamespace[];
  assert.doesNotThrow(() => checkJoinNamespaces(spec(base({ type: 'pid' }, { type: 'ipc' })), t));
  assert.doesNotThrow(() =>
    checkJoinNamespaces(spec(base({ type: 'pid', path: '/proc/4242/ns/pid' }, { type: 'ipc' })), t),
  );
  assert.doesNotThrow(() =>
    checkJoinNamespaces(
      spec(base({ type: 'pid' }, { type: 'ipc' }), [{ destination: '/dev/shm', type: 'tmpfs', source: 'shm' }]),
      t,
    ),
  );
  const refused: [OciSpec, RegExp][] = [
    [spec(base(undefined, { type: 'ipc' })), /^--pid host: /],
    [
      spec(base({ type: 'pid', path: '/proc/1/ns/pid' }, { type: 'ipc' })),
      /^--pid \/proc\/1\/ns\/pid: .*--pid container:a{12}/,
    ],
    [spec(base({ type: 'pid' }, undefined)), /^--ipc host: /],
    [spec(base({ type: 'pid' }, { type: 'ipc', path: '/proc/4242/ns/ipc' })), /^--ipc container: not supported/],
    [
      spec(base({ type: 'pid' }, { type: 'ipc' }), [{ destination: '/scratch', type: 'tmpfs', source: 'tmpfs' }]),
      /^--tmpfs \/scratch: /,
    ],
  ];
  for (const [s, re] of refused)
    assert.throws(
      () => checkJoinNamespaces(s, t),
      (e: unknown) => e instanceof OptionError && re.test(e.message),
    );
});

test("the joiner's client names X when X's VM goes", () => {
  assert.match(lostMessage({ id: X }), /^container a{12} stopped: .*--network container:a{12}/);
});

test('an image whose /proc is a link or a file is not joinable (runc would mount the share where it points); a dir or none is', () => {
  const root = mkdtempSync(join(tmpdir(), 'runcvm-join-root-'));
  try {
    assert.equal(imageProcIsJoinable(root), true, 'missing: runc makes a directory');
    mkdirSync(join(root, 'proc'));
    assert.equal(imageProcIsJoinable(root), true);
    rmSync(join(root, 'proc'), { recursive: true });
    symlinkSync('/usr/bin', join(root, 'proc'));
    assert.equal(imageProcIsJoinable(root), false);
    rmSync(join(root, 'proc'));
    writeFileSync(join(root, 'proc'), '');
    assert.equal(imageProcIsJoinable(root), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
