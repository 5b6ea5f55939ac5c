import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configVersion, runcvmHandler, withoutRuncvm, withRuncvm } from './containerd.ts';

const BIN = '/opt/runcvm/bin/runcvm-runtime';
const SHIM = '/opt/runcvm/bin/containerd-shim-runcvm-v2';
/** The part of Debian 12's /etc/containerd/config.toml that matters (comments dropped). */
const DEBIAN = `version = 2
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.internal.v1.opt"]
    path = "/var/lib/containerd/opt"
`;

test("adds a handler whose runtime_type is runcvm's shim to a version 2 config, keeps the rest, and is idempotent", () => {
  const once = withRuncvm(DEBIAN, 'runcvm', SHIM, 'c.toml');
  assert.ok(once.startsWith(DEBIAN));
  assert.match(
    once,
    /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runcvm\]\n {2}runtime_type = "\/opt\/runcvm\/bin\/containerd-shim-runcvm-v2"\n# runcvm: end/,
  );
  assert.equal(withRuncvm(once, 'runcvm', SHIM, 'c.toml'), once);
  assert.deepEqual(runcvmHandler(once, 'runcvm'), { binary: BIN });
  assert.equal(runcvmHandler(DEBIAN, 'runcvm'), undefined);
  // A block of an older runcvm (the runc shim with BinaryName) still reads as its binary.
  const old = `${DEBIAN}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runcvm]\n  runtime_type = "io.containerd.runc.v2"\n  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runcvm.options]\n    BinaryName = "/old/runcvm-runtime"\n`;
  assert.deepEqual(runcvmHandler(old, 'runcvm'), { binary: '/old/runcvm-runtime' });
  assert.equal(withoutRuncvm(once), DEBIAN);
});

test('table names follow the config version; a missing file becomes a version 2 config', () => {
  assert.equal(configVersion('root = "/x"\n'), 1);
  assert.match(withRuncvm('root = "/x"\n', 'runcvm', SHIM, 'c.toml'), /\[plugins\.cri\.containerd\.runtimes\.runcvm\]/);
  assert.match(
    withRuncvm('version = 3\n', 'runcvm', SHIM, 'c.toml'),
    /\[plugins\."io\.containerd\.cri\.v1\.runtime"\.containerd\.runtimes\.runcvm\]/,
  );
  assert.match(withRuncvm(undefined, 'runcvm', SHIM, 'c.toml'), /^version = 2\n\n# runcvm: begin/);
  assert.throws(() => withRuncvm('version = 9\n', 'runcvm', SHIM, 'c.toml'), /version 9 is not known/);
});

test('a hand-written runcvm handler or a disabled CRI plugin is refused, not overwritten', () => {
  const hand = `${DEBIAN}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runcvm]\n  runtime_type = "io.containerd.runc.v2"\n`;
  assert.throws(
    () => withRuncvm(hand, 'runcvm', SHIM, '/etc/containerd/config.toml'),
    /already defines .* outside runcvm's markers/,
  );
  assert.throws(
    () => withRuncvm('version = 2\ndisabled_plugins = ["cri"]\n', 'runcvm', SHIM, 'c.toml'),
    /disables containerd's CRI plugin/,
  );
});
