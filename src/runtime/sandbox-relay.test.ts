import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from '../common/wait.ts';
import { describeError } from '../contracts/errors.ts';
import { qemuControl } from '../vmm/qemu/control.ts';
import { Qmp } from '../vmm/qemu/qmp.ts';
import { relayArgv, sandboxRelay } from './sandbox-relay.ts';

test("the relay is runc exec of a runcvm.mjs verb in the container, with runc's root and the host's node", () => {
  assert.deepEqual(
    relayArgv(
      { runc: '/usr/bin/runc', root: '/run/docker/runtime-runc/moby', containerId: 'c1', node: '/usr/bin/node' },
      'qmp-relay',
    ),
    [
      '--root',
      '/run/docker/runtime-runc/moby',
      'exec',
      'c1',
      '/usr/bin/node',
      '--no-warnings',
      '/opt/runcvm/lib/runcvm.mjs',
      'qmp-relay',
    ],
  );
  assert.deepEqual(relayArgv({ runc: 'runc', containerId: 'c1', node: 'node' }, 'v').slice(0, 2), ['exec', 'c1']);
});

/** A stand-in for runc: a shell script that records its pid, then runs `body` as the relay would. */
function fakeRunc(body: string): { runc: string; pid: () => number; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-relay-'));
  const runc = join(dir, 'runc');
  writeFileSync(runc, `#!/bin/sh\necho $$ > ${dir}/pid\n${body}\n`);
  chmodSync(runc, 0o755);
  return { runc, dir, pid: () => Number(readFileSync(join(dir, 'pid'), 'utf8')) };
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return undefined;
  } catch {
    return true;
  }
};

async function relayed(
  body: string,
  check: (open: () => Promise<Qmp>, pid: () => number) => Promise<void>,
): Promise<void> {
  const fake = fakeRunc(body);
  try {
    await check(
      () =>
        Qmp.open(sandboxRelay({ runc: fake.runc, containerId: 'c1', node: 'node' }, 'qmp-relay'), {
          label: 'container c1',
          timeoutMs: 5000,
        }),
      fake.pid,
    );
  } finally {
    rmSync(fake.dir, { recursive: true });
  }
}

test("QMP works over the relay's stdio; closing the control kills runc exec", async () => {
  const peer = `echo '{"QMP": {}}'; while read line; do case "$line" in *query-balloon*) echo '{"return": {"actual": 536870912}}' ;; *) echo '{"return": {}}' ;; esac; done`;
  await relayed(`exec sh -c '${peer.replace(/'/g, `'\\''`)}'`, async (open, pid) => {
    const ctl = qemuControl(await open());
    assert.equal(await ctl.balloon.actualMiB(), 512);
    ctl.close();
    await waitUntil('the fake runc to die', () => gone(pid()), { timeoutMs: 5000 });
  });
});

test('a relay that fails reports its exit and stderr, with control characters made harmless', async () => {
  await relayed(
    `printf 'runcvm qmp-relay: connect ENOENT /run/runcvm/qmp.sock\\033[2J\\n' >&2; exit 1`,
    async (open) => {
      await assert.rejects(
        open(),
        (e: unknown) =>
          describeError(e) ===
          'qmp container c1: runc exec qmp-relay exited (status 1): runcvm qmp-relay: connect ENOENT /run/runcvm/qmp.sock [2J',
      );
    },
  );
});

test('a relay that floods stdout without a newline is cut off at the line ceiling and killed', async () => {
  await relayed('exec cat /dev/zero', async (open, pid) => {
    await assert.rejects(open(), (e: unknown) =>
      /^qmp container c1: the peer sent a line longer than 1048576 bytes/.test(describeError(e)),
    );
    await waitUntil('the fake runc to die', () => gone(pid()), { timeoutMs: 5000 });
  });
});
