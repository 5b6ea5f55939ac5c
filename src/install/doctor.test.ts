import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DoctorFacts, engineChecks } from './doctor.ts';

const BIN = '/opt/runcvm/bin/runcvm-runtime';
const base: DoctorFacts = {
  binary: BIN,
  installed: true,
  kvm: { usable: false, reason: 'probe timed out' },
  allowTcg: true,
  docker: {
    daemonJson: '/etc/docker/daemon.json',
    names: ['runcvm'],
    live: ['runc', 'runcvm'],
    defaultRuntime: 'runcvm',
  },
  containerd: [{ file: '/etc/containerd/config.toml', exists: true, binary: BIN, running: true }],
  podman: { installed: true, files: [{ file: '/etc/containers/containers.conf', names: ['runcvm'] }] },
};

test('doctor says which engines use runcvm', () => {
  const [docker, containerd, podman] = engineChecks(base);
  assert.equal(docker?.status, 'ok');
  assert.match(
    docker?.message as string,
    /^configured: runtime "runcvm" in \/etc\/docker\/daemon.json \(dockerd lists it\); it is the default runtime$/,
  );
  assert.equal(containerd?.status, 'ok');
  assert.match(
    containerd?.message as string,
    /^configured: CRI runtime handler "runcvm" in \/etc\/containerd\/config.toml \(a containerd runs with this config/,
  );
  assert.deepEqual(podman, {
    name: 'podman',
    status: 'ok',
    message: 'configured: runtime "runcvm" in /etc/containers/containers.conf',
  });
});

test('doctor says what is missing and how to fix it; only a broken Docker or containerd registration fails', () => {
  const checks = engineChecks({
    ...base,
    docker: { daemonJson: '/etc/docker/daemon.json', names: ['runcvm'], live: ['runc'] },
    containerd: [
      { file: '/etc/containerd/config.toml', exists: true, running: false },
      { file: '/x.toml', exists: true, binary: '/old/runcvm-runtime', running: false },
    ],
    podman: { installed: true, files: [] },
  });
  assert.equal(checks[0]?.status, 'fail');
  assert.match(checks[0]?.message as string, /dockerd does NOT list it yet/);
  assert.match(checks[0]?.fix as string, /reload dockerd/);
  assert.equal(checks[1]?.status, 'info');
  assert.equal(checks[1]?.fix, 'runcvm install --containerd-config /etc/containerd/config.toml');
  assert.equal(checks[2]?.status, 'fail');
  assert.match(
    checks[2]?.message as string,
    /^MISCONFIGURED \(\/x.toml: handler "runcvm" runs "\/old\/runcvm-runtime"/,
  );
  assert.equal(checks[3]?.status, 'info');
  assert.match(checks[3]?.fix as string, /runcvm podman-config/);
  assert.deepEqual(engineChecks({ ...base, podman: { installed: false, files: [] } }).at(-1), {
    name: 'podman',
    status: 'info',
    message: 'not installed',
  });
  assert.equal(engineChecks({ ...base, docker: { names: [] } })[0]?.status, 'fail');
  assert.equal(engineChecks({ ...base, docker: { ...base.docker, live: undefined } })[0]?.status, 'warn');
});
