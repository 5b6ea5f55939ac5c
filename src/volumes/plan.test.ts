import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkCommands, linkFor, mountOptions, overlapsLink } from './link.ts';
import { jailMounts, jailSkeleton, parseLoaderTrace, planVolumes } from './plan.ts';
import { linkClash } from './server.ts';

const link = linkFor('0123456789abcdef');

test('the link is a /30 in 169.254.1.0-169.254.168.255, stable per container, distinct between containers', () => {
  assert.deepEqual(linkFor('0123456789abcdef'), link);
  const m = /^169\.254\.(\d+)\.(\d+)$/.exec(link.serverIp);
  assert.ok(m, link.serverIp);
  const [third, fourth] = [Number(m[1]), Number(m[2])];
  assert.ok(third >= 1 && third <= 168 && fourth % 4 === 1, link.serverIp);
  assert.equal(link.guestIp, `169.254.${third}.${fourth + 1}`);
  assert.notEqual(linkFor('another-container').serverIp, link.serverIp);
  assert.ok(link.tap.length <= 15 && link.tap.startsWith('tap-vol-'));
});

test('overlap: Docker subnets and the default route do not clash, a subnet holding the /30 does', () => {
  assert.equal(overlapsLink(link, '172.17.0.2/16'), false);
  assert.equal(overlapsLink(link, 'default'), false);
  assert.equal(overlapsLink(link, '169.254.0.0/16'), true);
  assert.equal(overlapsLink(link, `${link.guestIp}/32`), true);
  assert.equal(overlapsLink(link, '169.254.169.254/32'), false);
  const guest = {
    ifaces: [{ name: 'eth0', mac: 'x', mtu: 1500, ipv4: { address: '169.254.0.5', prefix: 16 } }],
    routes: [],
    dnsRelay: false,
    spares: [],
  };
  assert.equal(linkClash(link, guest, '[]'), '169.254.0.5/16');
});

test('the server end: tap up before its address; 9P options carry the export name', () => {
  assert.deepEqual(
    linkCommands(link).map((c) => c.slice(0, 2).join(' ')),
    ['tuntap add', 'link set', 'addr add'],
  );
  assert.match(
    mountOptions(link, '/v/0'),
    /^trans=tcp,port=564,version=9p2000\.L,msize=65536,cache=none,access=user,uname=root,aname=\/v\/0$/,
  );
});

test('binds become 9P exports (directories at /v/N, single files at /f/N), tmpfs stays', () => {
  const plan = planVolumes(
    [
      { kind: 'tmpfs', destination: '/dev/shm', flags: 14, data: 'mode=1777' },
      { kind: 'bind', destination: '/data', flags: 1, source: '/srv/data' },
      { kind: 'bind', destination: '/etc/hosts', flags: 0, source: '/var/lib/docker/containers/x/hosts' },
    ],
    link,
    (s) => s.endsWith('hosts'),
  );
  assert.deepEqual(plan.exports, [
    { aname: '/v/0', source: '/srv/data', readonly: true, file: false },
    { aname: '/f/1', source: '/var/lib/docker/containers/x/hosts', readonly: false, file: true },
  ]);
  assert.equal(plan.mounts[0]?.kind, 'tmpfs');
  assert.deepEqual(
    plan.mounts
      .slice(1)
      .map(
        (m) =>
          m.kind === '9p' && [m.destination, m.flags, m.file, m.options.endsWith(`aname=${m.file ? '/f/1' : '/v/0'}`)],
      ),
    [
      ['/data', 1, false, true],
      ['/etc/hosts', 0, true, true],
    ],
  );
  const mounts = jailMounts('/bundle/runcvm/jail', plan.exports, [
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/lib64/ld-linux-x86-64.so.2',
  ]);
  assert.deepEqual(
    mounts.map((m) => [m.destination, m.source, m.options?.includes('ro')]),
    [
      ['/run/runcvm-vol', '/bundle/runcvm/jail', true],
      ['/run/runcvm-vol/usr/sbin/diod', '/usr/sbin/diod', true],
      ['/run/runcvm-vol/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6', true],
      ['/run/runcvm-vol/lib64/ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2', true],
      ['/run/runcvm-vol/v/0', '/srv/data', true],
      ['/run/runcvm-vol/f/1/file', '/var/lib/docker/containers/x/hosts', false],
    ],
  );
  for (const m of mounts.slice(4))
    assert.ok(m.options?.includes('nodev') && m.options.includes('nosuid'), m.destination);
});

test('the jail skeleton: the guest is the only client (hosts, TCP wrappers), mount points for every bind', () => {
  const sk = jailSkeleton(
    link,
    [{ aname: '/f/0', source: '/h', readonly: false, file: true }],
    ['/lib64/ld-linux-x86-64.so.2'],
  );
  const byPath = new Map(sk.map((e) => [e.path, e.content]));
  assert.equal(byPath.get('etc/hosts.allow'), `diod: ${link.guestIp}\n`);
  assert.equal(byPath.get('etc/hosts.deny'), 'ALL: ALL\n');
  assert.equal(byPath.get('etc/hosts'), `${link.guestIp} runcvm-guest\n`);
  for (const p of ['usr/sbin/diod', 'lib64/ld-linux-x86-64.so.2', 'f/0/file']) assert.equal(byPath.get(p), '', p);
  for (const p of ['usr', 'usr/sbin', 'lib64', 'f/0']) assert.equal(byPath.get(p), undefined, p);
  assert.ok(sk.findIndex((e) => e.path === 'usr') < sk.findIndex((e) => e.path === 'usr/sbin/diod'));
});

test('the loader trace gives every library path and the loader itself', () => {
  const trace =
    '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibwrap.so.0 => /lib/x86_64-linux-gnu/libwrap.so.0 (0x00007f95)\n' +
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f95)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f95)\n';
  assert.deepEqual(parseLoaderTrace(trace), [
    '/lib/x86_64-linux-gnu/libwrap.so.0',
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/lib64/ld-linux-x86-64.so.2',
  ]);
});
