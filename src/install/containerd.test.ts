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

test('adds a runc-shim handler with BinaryName to a version 2 config, keeps the rest, and is idempotent', () => {
  const once = withRuncvm(DEBIAN, 'runcvm', BIN, SHIM, 'c.toml');
  assert.ok(once.startsWith(DEBIAN));
  assert.match(
    once,
    /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runcvm\]\n {2}runtime_type = "io\.containerd\.runc\.v2"\n {2}runtime_path = "\/opt\/runcvm\/bin\/containerd-shim-runcvm-v2"\n/,
  );
  assert.match(
    once,
    /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\.runtimes\.runcvm\.options\]\n {4}BinaryName = "\/opt\/runcvm\/bin\/runcvm-runtime"\n/,
  );
  assert.equal(withRuncvm(once, 'runcvm', BIN, SHIM, 'c.toml'), once);
  assert.deepEqual(runcvmHandler(once, 'runcvm'), { binary: BIN });
  assert.equal(runcvmHandler(DEBIAN, 'runcvm'), undefined);
  assert.equal(withoutRuncvm(once), DEBIAN);
});

test('table names follow the config version; a missing file becomes a version 2 config', () => {
  assert.equal(configVersion('root = "/x"\n'), 1);
  assert.match(
    withRuncvm('root = "/x"\n', 'runcvm', BIN, SHIM, 'c.toml'),
    /\[plugins\.cri\.containerd\.runtimes\.runcvm\]/,
  );
  assert.match(
    withRuncvm('version = 3\n', 'runcvm', BIN, SHIM, 'c.toml'),
    /\[plugins\."io\.containerd\.cri\.v1\.runtime"\.containerd\.runtimes\.runcvm\]/,
  );
  assert.match(withRuncvm(undefined, 'runcvm', BIN, SHIM, 'c.toml'), /^version = 2\n\n# runcvm: begin/);
  assert.throws(() => withRuncvm('version = 9\n', 'runcvm', BIN, SHIM, 'c.toml'), /version 9 is not known/);
});

test('a hand-written runcvm handler or a disabled CRI plugin is refused, not overwritten', () => {
  const hand = `${DEBIAN}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runcvm]\n  runtime_type = "io.containerd.runc.v2"\n`;
  assert.throws(
    () => withRuncvm(hand, 'runcvm', BIN, SHIM, '/etc/containerd/config.toml'),
    /already defines .* outside runcvm's markers/,
  );
  assert.throws(
    () => withRuncvm('version = 2\ndisabled_plugins = ["cri"]\n', 'runcvm', BIN, SHIM, 'c.toml'),
    /disables containerd's CRI plugin/,
  );
});
