import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type DoctorFacts, formatDoctor } from './doctor.ts';

const BIN = '/opt/runcvm/bin/runcvm-runtime';
const base: DoctorFacts = {
  binary: BIN, installed: true, kvm: { usable: false, reason: 'probe timed out' }, allowTcg: true,
  docker: { daemonJson: '/etc/docker/daemon.json', names: ['runcvm'], live: ['runc', 'runcvm'], defaultRuntime: 'runcvm' },
  containerd: [{ file: '/etc/containerd/config.toml', exists: true, binary: BIN, running: true }],
  podman: { installed: true, files: [{ file: '/etc/containers/containers.conf', names: ['runcvm'] }] },
};

test('doctor says which engines use runcvm', () => {
  const lines = formatDoctor(base);
  assert.equal(lines[1], 'host: KVM not usable (probe timed out); TCG allowed (slow)');
  assert.match(lines[2] as string, /^docker: configured: runtime "runcvm" in \/etc\/docker\/daemon.json \(dockerd lists it\); it is the default runtime$/);
  assert.match(lines[3] as string, /^containerd: configured: CRI runtime handler "runcvm" in \/etc\/containerd\/config.toml \(a containerd runs with this config/);
  assert.equal(lines[4], 'podman: configured: runtime "runcvm" in /etc/containers/containers.conf');
});

test('doctor says what is missing and how to fix it', () => {
  const lines = formatDoctor({
    ...base,
    docker: { daemonJson: '/etc/docker/daemon.json', names: ['runcvm'], live: ['runc'] },
    containerd: [
      { file: '/etc/containerd/config.toml', exists: true, running: false },
      { file: '/x.toml', exists: true, binary: '/old/runcvm-runtime', running: false },
    ],
    podman: { installed: true, files: [] },
  });
  assert.match(lines[2] as string, /dockerd does NOT list it yet/);
  assert.match(lines[3] as string, /^containerd: not configured .*: runcvm install --containerd-config \/etc\/containerd\/config.toml$/);
  assert.match(lines[4] as string, /^containerd: MISCONFIGURED \(\/x.toml: handler "runcvm" has BinaryName "\/old\/runcvm-runtime"/);
  assert.match(lines[5] as string, /^podman: not configured .*runcvm podman-config/);
  assert.match(formatDoctor({ ...base, podman: { installed: false, files: [] } }).at(-1) as string, /^podman: not installed$/);
});
