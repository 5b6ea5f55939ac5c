/**
 * Test fixture, not the launcher: what the launcher does for a Firecracker VM under
 * runcvm-supervisor, reduced to the steps that matter for the handover, for
 * supervisor-firecracker.test.ts. It starts the stand-in Firecracker (FAKE_FC_BINARY,
 * src/vmm/firecracker/testdata/fake-firecracker.ts) through the
 * real driver with the supervisor's stderr pipes, hands over with the launcher's own
 * handOverToSupervisor, and exits, leaving Firecracker to the supervisor. The run dir is
 * /run/runcvm, as in a container: the test runs it in a mount namespace of its own.
 */
import type { LaunchSpec } from '../../contracts/launch-spec.ts';
import { RUN_DIR } from '../../contracts/launch-spec.ts';
import { userNetwork } from '../../network/setup.ts';
import { makeFirecrackerDriver } from '../../vmm/firecracker/driver.ts';
import { handOverToSupervisor } from '../hand-over.ts';
import { HANDOVER_ENV, parseStderrPipes, STDERR_PIPES_ENV } from '../handover.ts';

const state = process.env[HANDOVER_ENV];
const pipes = parseStderrPipes(process.env[STDERR_PIPES_ENV]);
const binary = process.env.FAKE_FC_BINARY;
if (!state || !pipes || !binary) {
  process.stderr.write('supervised-launcher: run it under runcvm-supervisor with FAKE_FC_BINARY set\n');
  process.exit(2);
}
const spec = {
  hypervisor: 'firecracker',
  accel: 'kvm',
  hostname: 'fc',
  rootReadonly: false,
  mounts: [],
  runtimeDebug: false,
  network: 'none',
  process: { args: ['true'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false },
  timing: {},
  printTiming: false,
} as unknown as LaunchSpec;
const driver = makeFirecrackerDriver({ imageRootfs: () => true, version: () => null, ctrlAltDelGraceMs: 3000 });
const vm = await driver.start({
  name: 'runcvm-0123456789ab',
  accel: 'kvm',
  cpus: 1,
  memoryMiB: 128,
  kernel: '/k/vmlinux',
  initrd: '/k/initramfs.cpio',
  cmdline: ['console=ttyS0'],
  fsShares: [],
  blockDevices: [],
  nics: [],
  runDir: RUN_DIR,
  consoleToStderr: false,
  vmmBinary: binary,
  stderrPipes: pipes,
});
if (!handOverToSupervisor(state, spec, vm, userNetwork(false), {})) {
  process.stderr.write('supervised-launcher: the driver offered no pids to hand over\n');
  process.exit(3);
}
process.exit(0);
