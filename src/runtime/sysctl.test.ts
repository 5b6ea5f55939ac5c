import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OptionError } from '../contracts/errors.ts';
import type { OciLinux } from '../oci/spec.ts';
import { dottedKey, guestSysctls } from './sysctl.ts';

const PRIVATE = [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }];
const facts = { isHostNetns: (p: string) => p === '/var/run/docker/netns/default' };
const linux = (sysctl: Record<string, string>, namespaces = PRIVATE): OciLinux => ({ sysctl, namespaces });

test("Docker's defaults and --sysctl keys become /proc/sys paths, in the spec's order", () => {
  const s = guestSysctls(
    linux({
      'net.ipv4.ip_unprivileged_port_start': '0',
      'net.ipv4.ping_group_range': '0 2147483647',
      'kernel.msgmax': '65536',
      'fs.mqueue.msg_max': '20',
      'kernel.domainname': 'example.org',
    }),
    facts,
  );
  assert.deepEqual(
    s.map((x) => [x.path, x.value]),
    [
      ['net/ipv4/ip_unprivileged_port_start', '0'],
      ['net/ipv4/ping_group_range', '0 2147483647'],
      ['kernel/msgmax', '65536'],
      ['fs/mqueue/msg_max', '20'],
      ['kernel/domainname', 'example.org'],
    ],
  );
});

test('no sysctl field: nothing to apply', () => {
  assert.deepEqual(guestSysctls({ namespaces: PRIVATE }, facts), []);
  assert.deepEqual(guestSysctls(undefined, facts), []);
});

test('the slash form keeps a dot inside a name (a VLAN interface)', () => {
  assert.equal(dottedKey('net/ipv4/conf/eno2.100/rp_filter'), 'net.ipv4.conf.eno2/100.rp_filter');
  const [s] = guestSysctls(linux({ 'net/ipv4/conf/eno2.100/rp_filter': '1' }), facts);
  assert.equal(s?.path, 'net/ipv4/conf/eno2.100/rp_filter');
  assert.equal(s?.key, 'net/ipv4/conf/eno2.100/rp_filter');
});

test("non-namespaced keys are refused with runc's message", () => {
  for (const key of ['kernel.panic', 'vm.swappiness', 'fs.file-max', 'kernel.pid_max']) {
    assert.throws(
      () => guestSysctls(linux({ [key]: '1' }), facts),
      (e: Error) => {
        assert.ok(e instanceof OptionError);
        assert.equal(e.message, `sysctl "${key}" is not in a separate kernel namespace`);
        return true;
      },
    );
  }
});

test('net.* needs a network namespace that is not the host one', () => {
  const hostPath = PRIVATE.map((n) =>
    n.type === 'network' ? { type: 'network', path: '/var/run/docker/netns/default' } : n,
  );
  const none = PRIVATE.filter((n) => n.type !== 'network');
  for (const ns of [hostPath, none]) {
    assert.throws(
      () => guestSysctls(linux({ 'net.core.somaxconn': '1024' }, ns), facts),
      /^OptionError: sysctl "net.core.somaxconn" not allowed in host network namespace$|sysctl "net.core.somaxconn" not allowed in host network namespace/,
    );
  }
  // Another container's namespace (--network container:X) is private to the containers: allowed, as by runc.
  const joined = PRIVATE.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/42/ns/net' } : n));
  assert.equal(guestSysctls(linux({ 'net.core.somaxconn': '1024' }, joined), facts).length, 1);
});

test('IPC keys need a private IPC namespace (--ipc host refuses them)', () => {
  const noIpc = PRIVATE.filter((n) => n.type !== 'ipc');
  assert.throws(
    () => guestSysctls(linux({ 'kernel.shmmax': '1' }, noIpc), facts),
    /sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace/,
  );
  assert.throws(
    () => guestSysctls(linux({ 'fs.mqueue.queues_max': '1' }, noIpc), facts),
    /is not allowed in the hosts ipc namespace/,
  );
});

test('UTS: kernel.hostname conflicts with the hostname field, kernel.domainname needs a private UTS namespace', () => {
  assert.throws(
    () => guestSysctls(linux({ 'kernel.hostname': 'x' }), facts),
    /sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field/,
  );
  const noUts = PRIVATE.filter((n) => n.type !== 'uts');
  assert.throws(
    () => guestSysctls(linux({ 'kernel.domainname': 'x' }, noUts), facts),
    /sysctl "kernel.domainname" is not in a separate kernel namespace/,
  );
});

test('a key that would leave /proc/sys or a bad value is refused', () => {
  for (const key of ['net.ipv4..x', 'net/../../etc/passwd', 'net.', 'net/ipv4/./x']) {
    assert.throws(() => guestSysctls(linux({ [key]: '1' }), facts), /not a valid sysctl name/, key);
  }
  assert.throws(() => guestSysctls(linux({ 'net.core.somaxconn': '1\0' }), facts), /NUL/);
  assert.throws(
    () => guestSysctls({ namespaces: PRIVATE, sysctl: { 'net.core.somaxconn': 5 as unknown as string } }, facts),
    /must be a string/,
  );
});
