import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { OciSpec } from '../oci/spec.ts';
import { containerResolvConf } from './resolv-conf.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-resolv-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("resolv.conf: Docker's bind-mounted file, else the image's resolved inside its root, never through a symlink", () => {
  const root = join(tmp, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(tmp, 'docker-resolv.conf'), 'nameserver 127.0.0.11\n');
  writeFileSync(join(tmp, 'host-secret'), 'secret\n');
  const spec = (mounts: OciSpec['mounts']) => ({ ociVersion: '1', root: { path: root }, mounts }) as OciSpec;
  assert.equal(
    containerResolvConf(
      spec([{ destination: '/etc/resolv.conf', type: 'bind', source: join(tmp, 'docker-resolv.conf') }]),
    ),
    'nameserver 127.0.0.11\n',
  );
  writeFileSync(join(root, 'etc', 'resolv.conf'), 'nameserver 10.0.0.1\n');
  assert.equal(containerResolvConf(spec([])), 'nameserver 10.0.0.1\n');
  rmSync(join(root, 'etc', 'resolv.conf'));
  symlinkSync(join(tmp, 'host-secret'), join(root, 'etc', 'resolv.conf'));
  assert.equal(containerResolvConf(spec([])), '');
});
