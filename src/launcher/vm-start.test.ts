/** create's VM start without the launcher (vm-start.ts): the handoff through an IpRunner, the files, the undo. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sampleLaunchSpec } from '../contracts/testdata/launch-spec.ts';
import { type IpRunner, ipInNetnsOf, runIp } from '../network/netns.ts';
import { setUpNetwork } from '../network/setup.ts';
import { HandoverTag } from './handover.ts';
import { netSyncArgv, prepareVmStart } from './vm-start.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-vm-start-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const LAUNCH = sampleLaunchSpec({
  containerId: 'c0ffee',
  rootfs: '/r',
  process: { args: ['true'], env: [], cwd: '/', uid: 0, gid: 0, groups: [], terminal: false },
});

const ARGS = [
  '/opt/runcvm/bin/runcvm-init',
  '/opt/runcvm/bin/runcvm-supervisor',
  '/usr/bin/node',
  '--no-warnings',
  '/opt/runcvm/lib/runcvm.mjs',
  'launcher',
];

const ADDR =
  '[{"ifname":"lo","link_type":"loopback","mtu":65536,"address":"00:00:00:00:00:00"},{"ifname":"eth0","mtu":1500,"link_type":"ether","address":"02:42:ac:11:00:04","addr_info":[{"family":"inet","local":"172.17.0.4","prefixlen":16}]}]';
const ROUTE = '[{"dst":"default","gateway":"172.17.0.1","dev":"eth0"}]';

/** `ip` as Docker's namespace answers it; every change recorded, a batch failing when asked. */
function fakeIp(failBatch = false): { ip: IpRunner; changes: string[][]; links: string[]; execs: string[] } {
  const changes: string[][] = [];
  const links = ['lo', 'eth0'];
  const execs: string[] = [];
  const ip = ((args: string[]) => {
    execs.push(args.join(' '));
    if (args.join(' ') === '-json addr show') return ADDR;
    if (args.join(' ') === '-4 -json route show') return ROUTE;
    if (args.join(' ') === '-json link show') return JSON.stringify(links.map((ifname) => ({ ifname })));
    changes.push(args);
    return '';
  }) as IpRunner;
  // Both reads in one process, as ipRunner's query does them.
  ip.query = (cmds) => {
    execs.push(`query ${cmds.map((c) => c.join(' ')).join('; ')}`);
    return cmds.map((c) => ({ 'addr show': ADDR, 'route show': ROUTE })[c.join(' ')] ?? '[]');
  };
  ip.batch = (cmds) => {
    execs.push('batch');
    for (const c of cmds)
      if (c[0] === 'tuntap' || c.includes('bridge')) links.push(c[c.indexOf('dev') + 1] ?? c[2] ?? '');
    if (failBatch) throw new Error('RTNETLINK answers: Operation not permitted');
    changes.push(...cmds);
  };
  return { ip, changes, links, execs };
}

test("the launcher's net-sync command line, from the rewritten process args", () => {
  assert.deepEqual(netSyncArgv(ARGS), [...ARGS.slice(2), '--net-sync']);
  assert.throws(() => netSyncArgv(ARGS.slice(0, 1)), /no runcvm-supervisor … launcher/);
});

test('own network: the handoff runs through the runner, the plan and the network watch land in the run dir', () => {
  const runDir = join(tmp, 'ok', 'runcvm');
  mkdirSync(join(tmp, 'ok'));
  const f = fakeIp();
  let t = 100;
  prepareVmStart(
    {
      containerId: 'c0ffee',
      launch: LAUNCH,
      pid: 4242,
      launcherArgs: ARGS,
      podSocket: false,
      resolvConf: 'nameserver 127.0.0.11\n',
    },
    { ip: f.ip, runDir, now: () => t++ },
  );
  assert.deepEqual(readdirSync(runDir).sort(), ['net-watch.json', 'supervisor.start']);
  // Two `ip` processes for the whole handoff: the reads, then the changes.
  assert.deepEqual(f.execs, ['query addr show; route show', 'batch']);
  assert.ok(f.changes.some((c) => c.join(' ') === 'tuntap add dev tap-eth0 mode tap'));
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, 'net-watch.json'), 'utf8')).known, ['eth0']);
  const plan = readFileSync(join(runDir, 'supervisor.start'));
  assert.ok(plan.includes(Buffer.from('tap,id=net0,ifname=tap-eth0,script=no,downscript=no')));
  assert.ok(plan.includes(Buffer.from('"runcCreatedMs":100,"networkReadyMs":101,"startPlanMs":102')));
  // The DNS relay, as the launcher decides it from resolv.conf.
  assert.ok(plan.includes(Buffer.from([HandoverTag.FLAGS, 0, 4, 0, 0, 0])));
});

test('a failed handoff removes the bridges and taps it made and leaves no file; the error names the container and step', () => {
  const runDir = join(tmp, 'fail', 'runcvm');
  mkdirSync(join(tmp, 'fail'));
  const f = fakeIp(true);
  assert.throws(
    () =>
      prepareVmStart(
        {
          containerId: 'c0ffee',
          launch: LAUNCH,
          pid: 4242,
          launcherArgs: ARGS,
          podSocket: false,
          resolvConf: '',
        },
        { ip: f.ip, runDir },
      ),
    (e: Error & { context?: { containerId?: string; step?: string } }) =>
      /starting the VM without the launcher: network handoff/.test(e.message) &&
      e.context?.containerId === 'c0ffee' &&
      e.context.step === 'network handoff',
  );
  assert.deepEqual(
    f.changes.filter((c) => c[1] === 'del').map((c) => c[2]),
    f.links.filter((l) => /^(br|tap)-/.test(l)),
  );
  assert.ok(f.changes.some((c) => c.join(' ') === 'link del tap-eth0'));
  assert.equal(existsSync(runDir), false);
});

test('a run dir that is a symlink is refused and nothing is written through it', () => {
  const elsewhere = join(tmp, 'elsewhere');
  mkdirSync(elsewhere);
  mkdirSync(join(tmp, 'link'));
  symlinkSync(elsewhere, join(tmp, 'link', 'runcvm'));
  assert.throws(
    () =>
      prepareVmStart(
        {
          containerId: 'c0ffee',
          launch: { ...LAUNCH, network: 'shared' },
          pid: 4242,
          launcherArgs: ARGS,
          podSocket: false,
          resolvConf: '',
        },
        { ip: fakeIp().ip, runDir: join(tmp, 'link', 'runcvm') },
      ),
    /writing the start plan/,
  );
  assert.deepEqual(readdirSync(elsewhere), []);
});

// A namespace of the test's own (unshare), never the host's: the runner really enters it.
test("ipInNetnsOf: the handoff runs in another process's network namespace, not the caller's", {
  skip: process.getuid?.() !== 0 && 'needs root to make a network namespace',
}, async () => {
  const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const ip = ipInNetnsOf(child.pid as number);
    ip(['link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
    ip(['addr', 'add', '192.0.2.5/24', 'dev', 'v0']);
    ip(['link', 'set', 'v0', 'up']);
    const net = setUpNetwork('own', '', ip);
    assert.deepEqual(
      net.guest.ifaces.map((i) => [i.name, i.ipv4?.address]),
      [
        ['v1', undefined],
        ['v0', '192.0.2.5'],
      ],
    );
    const links = (JSON.parse(ip(['-json', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname).sort();
    assert.deepEqual(links, ['br-v0', 'br-v1', 'lo', 'tap-spare0', 'tap-spare1', 'tap-v0', 'tap-v1', 'v0', 'v1']);
    // The caller's own namespace is untouched.
    assert.equal(runIp(['-json', 'link', 'show']).includes('tap-v0'), false);
  } finally {
    child.kill('SIGKILL');
  }
  assert.throws(() => ipInNetnsOf(1), /not a process id/);
});
