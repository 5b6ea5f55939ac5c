/**
 * `docker exec` runs in the guest, inside the workload's PID namespace and filesystem, with
 * Docker's exec semantics (env, user, cwd, stdio, exit status, detach, tty).
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX, docker, RUNTIME, uniqueName } from './docker.ts';
import { Terminal } from './terminal.ts';

const vm = uniqueName('exec-vm');
const runc = uniqueName('exec-runc');

before(async () => {
  for (const [name, runtime] of [
    [vm, RUNTIME],
    [runc, 'runc'],
  ]) {
    const r = await docker([
      'run',
      '-d',
      '--name',
      name as string,
      `--runtime=${runtime}`,
      '-e',
      'FROM_RUN=1',
      BUSYBOX,
      'sleep',
      '3600',
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await docker(['rm', '-f', vm, runc]);
});

test("exec runs in the workload's PID namespace (it waits for the VM to boot)", async () => {
  const r = await docker(['exec', vm, 'sh', '-c', 'ps -o pid,args | grep -v ps']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s*1\s+sleep 3600$/m);
});

test('stdout, stderr and the exit status are kept apart', async () => {
  const r = await docker(['exec', vm, 'sh', '-c', 'echo out; echo err >&2; exit 5']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [5, 'out\n', 'err\n']);
});

test('the container env plus -e, -u (uid, uid:gid, name) and -w', async () => {
  const env = await docker(['exec', '-e', 'EXTRA=2', vm, 'sh', '-c', 'echo $FROM_RUN $EXTRA']);
  assert.equal(env.stdout, '1 2\n');
  const ids = await Promise.all([
    docker(['exec', '-u', '1234', vm, 'id', '-u']),
    docker(['exec', '-u', '1234:99', vm, 'sh', '-c', 'echo $(id -u):$(id -g)']),
  ]);
  assert.deepEqual(
    ids.map((r) => r.stdout),
    ['1234\n', '1234:99\n'],
  );
  const [a, b] = await Promise.all([
    docker(['exec', '-u', 'alice', '-w', '/home/alice', vm, 'sh', '-c', 'id; pwd']),
    docker(['exec', '-u', 'alice', '-w', '/home/alice', runc, 'sh', '-c', 'id; pwd']),
  ]);
  assert.equal(a.stdout, b.stdout);
  assert.match(a.stdout, /uid=1001\(alice\).*50\(staff\).*\n\/home\/alice\n/);
});

test('missing and non-executable commands fail as with runc; signals give 128+N', async () => {
  for (const cmd of ['no-such-cmd', '/etc/passwd']) {
    const [a, b] = await Promise.all([docker(['exec', vm, cmd]), docker(['exec', runc, cmd])]);
    assert.equal(a.code, b.code, `${cmd}: ${a.stderr}`);
    const why = cmd === 'no-such-cmd' ? /executable file not found in \$PATH/ : /permission denied/;
    // The docker CLI prints exec's runtime errors on stdout.
    assert.match(a.stdout + a.stderr, why);
  }
  const killed = await docker(['exec', vm, 'sh', '-c', 'kill -9 $$']);
  assert.equal(killed.code, 137);
});

test('exec -d runs detached', async () => {
  // Written aside and renamed: a poll between the shell's open(O_TRUNC) and its write would read ''.
  const r = await docker([
    'exec',
    '-d',
    vm,
    'sh',
    '-c',
    'sleep 1; echo detached > /tmp/exec-d.new; mv /tmp/exec-d.new /tmp/exec-d',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 100; i++) {
    const c = await docker(['exec', vm, 'cat', '/tmp/exec-d']);
    if (c.code === 0) return assert.equal(c.stdout, 'detached\n');
    await sleep(200);
  }
  assert.fail('the detached exec never wrote its file');
});

test('20 concurrent execs all succeed with their own output', async () => {
  const rs = await Promise.all(
    Array.from({ length: 20 }, (_, i) => docker(['exec', vm, 'sh', '-c', `echo n${i}; echo e${i} >&2; exit ${i % 7}`])),
  );
  for (const [i, r] of rs.entries()) assert.deepEqual([r.code, r.stdout, r.stderr], [i % 7, `n${i}\n`, `e${i}\n`]);
});

test('exec into a stopped container fails as Docker does', async () => {
  const name = uniqueName('exec-stopped');
  try {
    await docker(['run', '--name', name, `--runtime=${RUNTIME}`, BUSYBOX, 'true']);
    const r = await docker(['exec', name, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is not running/);
  } finally {
    await docker(['rm', '-f', name]);
  }
});

test('exec -it: a real pty, typing, Ctrl-C, window resize and the exit status', async () => {
  const t = Terminal.open(`docker exec -it ${vm} sh`, 120, 40);
  try {
    await t.waitFor(/\/ #/);
    t.line('tty; stty size');
    await t.waitFor(/\/dev\/pts\/\d+\n40 120/);
    t.resize(90, 25);
    await sleep(500);
    t.line('stty size');
    await t.waitFor(/\n25 90\n/);
    t.line('sleep 300');
    await sleep(1000);
    t.type('C-c');
    t.line('echo "rc=$?"');
    await t.waitFor(/rc=130/);
    t.line('exit 7');
    await t.waitFor(/\[exit=7\]/);
  } finally {
    t.close();
  }
});
