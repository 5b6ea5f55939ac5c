/**
 * The VM takes over the container's network identity: Docker's port publishing, embedded DNS
 * and container-to-container traffic keep working, and nothing outside the container's
 * network namespace is touched. Traffic goes only to loopback and Docker's container addresses.
 */

import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_DATA_PLANE } from '../../src/contracts/kinds.ts';
import {
  BUSYBOX,
  docker,
  inspect,
  leftovers,
  PREFIX,
  RUNTIME,
  run,
  runRunc,
  runVm,
  uniqueName,
  until,
} from './docker.ts';
import { ensureImage } from './images.ts';

const NET_IMAGE = 'runcvm-test/net';
const net = uniqueName('net');
const cleanup: string[] = [];

/** Host state outside any container: our changes must never show up here. */
async function hostNetState(): Promise<string> {
  const links = await run('ip', ['-o', 'link', 'show']);
  const rules = await run('sh', ['-c', 'iptables-save 2>/dev/null | grep -v "^[#:]" | sort']);
  return `${links.stdout
    .replace(/^\d+: /gm, '')
    .split('\n')
    .filter((l) => !/veth/.test(l))
    .map((l) => l.split(':')[0])
    .sort()
    .join('\n')}\n${rules.stdout}`;
}

let hostBefore = '';

async function runDetached(name: string, args: string[]): Promise<void> {
  cleanup.push(name);
  const r = await docker(['run', '-d', '--name', name, ...args]);
  assert.equal(r.code, 0, r.stderr);
}

async function httpGet(url: string): Promise<string | undefined> {
  const r = await run('curl', ['-s', '--max-time', '5', url]);
  return r.code === 0 && r.stdout ? r.stdout : undefined;
}

before(async () => {
  hostBefore = await hostNetState();
  await ensureImage(NET_IMAGE, 'net');
  const r = await docker([
    'network',
    'create',
    '--opt',
    'com.docker.network.driver.mtu=1400',
    '--subnet',
    '172.31.250.0/24',
    net,
  ]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  if (cleanup.length) await docker(['rm', '-f', ...cleanup]);
  await docker(['network', 'rm', net]);
  await sleep(500);
  assert.deepEqual(await leftovers(), []);
  assert.equal(
    await hostNetState(),
    hostBefore,
    'no interface, bridge or iptables rule of ours may remain on the host',
  );
});

describe('default bridge', () => {
  test("the guest's eth0 has the container's IP, MAC, MTU and default route, and reaches the gateway and other containers", async () => {
    const name = uniqueName('bridge');
    const peer = uniqueName('peer');
    await runDetached(peer, ['--runtime=runc', BUSYBOX, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    await runDetached(name, [`--runtime=${RUNTIME}`, BUSYBOX, 'sleep', '600']);
    const [ip, mac, gw, peerIp] = [
      await inspect(name, '{{.NetworkSettings.IPAddress}}'),
      await inspect(name, '{{.NetworkSettings.MacAddress}}'),
      await inspect(name, '{{.NetworkSettings.Gateway}}'),
      await inspect(peer, '{{.NetworkSettings.IPAddress}}'),
    ];
    const r = await docker([
      'exec',
      name,
      'sh',
      '-c',
      `ip -o addr show eth0; ip -o link show eth0; ip route; ping -c 1 -W 5 ${gw} >/dev/null && echo gw-ok; echo "GET /hostname HTTP/1.0" | nc ${peerIp} 80 | tail -1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/16`));
    assert.match(r.stdout, new RegExp(`link/ether ${mac}`));
    assert.match(r.stdout, /eth0: .* mtu 1500/);
    assert.match(r.stdout, new RegExp(`default via ${gw.replace(/\./g, '\\.')} dev eth0`));
    assert.match(r.stdout, /gw-ok/);
    assert.match(r.stdout, new RegExp(`${await inspect(peer, '{{.Config.Hostname}}')}\\n$`));
  });

  test('-p, -p 127.0.0.1:…, UDP and -P publish a server running in the guest', async () => {
    const name = uniqueName('ports');
    await runDetached(name, [
      `--runtime=${RUNTIME}`,
      '-p',
      '18080:80',
      '-p',
      '127.0.0.1:18081:80',
      '-p',
      '127.0.0.1:15353:53/udp',
      '-P',
      '--expose',
      '8000',
      NET_IMAGE,
      'sh',
      '-c',
      'socat -T2 UDP4-RECVFROM:53,fork SYSTEM:"read x; echo udp-\\$x" & nginx -g "daemon off;"',
    ]);
    assert.equal(await until('HTTP on 18080', () => httpGet('http://127.0.0.1:18080/')), 'hello from nginx\n');
    assert.equal(await httpGet('http://127.0.0.1:18081/'), 'hello from nginx\n');
    const ip = await inspect(name, '{{.NetworkSettings.IPAddress}}');
    assert.equal(await httpGet(`http://${ip}/`), 'hello from nginx\n');
    const udp = await new Promise<string>((resolve, reject) => {
      const s = createSocket('udp4');
      // UDP promises no delivery: on a loaded host the first datagram may arrive before the
      // forwarding path is warm, so ask again until an answer or the deadline.
      const again = setInterval(() => s.send('ping\n', 15353, '127.0.0.1'), 2000);
      const t = setTimeout(() => {
        clearInterval(again);
        s.close();
        reject(new Error('no UDP answer'));
      }, 20_000);
      s.on('message', (m) => {
        clearTimeout(t);
        clearInterval(again);
        s.close();
        resolve(m.toString());
      });
      s.send('ping\n', 15353, '127.0.0.1');
    });
    assert.equal(udp.trim(), 'udp-ping');
    const p = await docker(['port', name, '8000/tcp']);
    assert.match(p.stdout, /:\d+/, 'an -P port was published');
  });

  test('busybox httpd in the guest answers through a published port', async () => {
    const name = uniqueName('httpd');
    await runDetached(name, [
      `--runtime=${RUNTIME}`,
      '-p',
      '127.0.0.1:18082:80',
      BUSYBOX,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/etc',
    ]);
    const hostname = await inspect(name, '{{.Config.Hostname}}');
    assert.equal(await until('busybox httpd', () => httpGet('http://127.0.0.1:18082/hostname')), `${hostname}\n`);
  });
});

describe('user-defined network', () => {
  test("names and aliases resolve through Docker's embedded DNS, MTU and --ip are honoured, runc and runcvm talk both ways", async () => {
    const vm = uniqueName('udn-vm');
    const rc = uniqueName('udn-runc');
    await runDetached(rc, [
      '--runtime=runc',
      '--network',
      net,
      '--network-alias',
      'runc-alias',
      BUSYBOX,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/etc',
    ]);
    await runDetached(vm, [
      `--runtime=${RUNTIME}`,
      '--network',
      net,
      '--network-alias',
      'vm-alias',
      '--ip',
      '172.31.250.77',
      BUSYBOX,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/etc',
    ]);
    const r = await docker([
      'exec',
      vm,
      'sh',
      '-c',
      `cat /etc/resolv.conf; ip -o addr show eth0; ip -o link show eth0; nslookup -type=a ${rc}; echo "GET /hostname HTTP/1.0" | nc runc-alias 80 | tail -1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nameserver 127\.0\.0\.11/);
    assert.match(r.stdout, /inet 172\.31\.250\.77\/24/);
    assert.match(r.stdout, /mtu 1400/);
    assert.match(r.stdout, /Address: 172\.31\.250\.\d+/);
    assert.match(r.stdout, new RegExp(`${await inspect(rc, '{{.Config.Hostname}}')}\\n$`));
    const back = await until('runc → runcvm by alias', async () => {
      const b = await docker(['exec', rc, 'sh', '-c', 'echo "GET /hostname HTTP/1.0" | nc vm-alias 80 | tail -1']);
      return b.stdout.trim() || undefined;
    });
    assert.equal(back, await inspect(vm, '{{.Config.Hostname}}'));
  });

  test("DNS over TCP (a resolver's retry after a truncated answer) reaches Docker's embedded DNS", async () => {
    const rc = uniqueName('tcpdns-runc');
    await runDetached(rc, ['--runtime=runc', '--network', net, '--network-alias', 'tcp-peer', BUSYBOX, 'sleep', '600']);
    const ip = await inspect(rc, `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`);
    // One A query for "tcp-peer", length-prefixed as DNS over TCP is (RFC 1035 4.2.2).
    const query = String.raw`\x00\x1a\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x08tcp-peer\x00\x00\x01\x00\x01`;
    const r = await runVm([
      '--network',
      net,
      NET_IMAGE,
      'bash',
      '-c',
      `printf '${query}' | socat -t5 - TCP:127.0.0.11:53 | od -An -v -tx1 | tr -s ' \\n' ' '`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const hex = ip
      .split('.')
      .map((n) => Number(n).toString(16).padStart(2, '0'))
      .join(' ');
    // Length, the query's id, a response with no error, and the peer's address in the answer.
    assert.match(r.stdout, / 12 34 81 80 00 01 00 01 /, r.stdout);
    assert.ok(r.stdout.includes(` 00 04 ${hex}`), `${r.stdout} has no A record for ${ip}`);
  });

  test('two networks attached before start give one NIC each with the right addresses and routes', async () => {
    const other = uniqueName('net2');
    const name = uniqueName('multi');
    await docker(['network', 'create', '--subnet', '172.31.251.0/24', other]);
    try {
      cleanup.push(name);
      await docker([
        'create',
        '--name',
        name,
        `--runtime=${RUNTIME}`,
        '--network',
        net,
        BUSYBOX,
        'sh',
        '-c',
        'ip -o -4 addr; ip route',
      ]);
      await docker(['network', 'connect', other, name]);
      const r = await docker(['start', '-a', name]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /eth0\s+inet 172\.31\.250\.\d+\/24/);
      assert.match(r.stdout, /eth1\s+inet 172\.31\.251\.\d+\/24/);
      assert.match(r.stdout, /default via 172\.31\.250\.1 dev eth0/);
      assert.match(r.stdout, /172\.31\.251\.0\/24 dev eth1/);
    } finally {
      await docker(['rm', '-f', name]);
      await docker(['network', 'rm', other]);
    }
  });
});

/** The supervisor's host-log line each time it starts the net-sync step (a Node process). */
const NET_SYNC_LINE = /launcher: the container's network changed: running the net-sync step/g;
const SUPERVISOR = (process.env.RUNCVM_E2E_DATA_PLANE || DEFAULT_DATA_PLANE) === 'supervisor';

async function netSyncRuns(name: string): Promise<number> {
  const log = await run(`${PREFIX}/bin/runcvm`, ['debug', '--log', name]);
  assert.equal(log.code, 0, log.stderr);
  return log.stdout.match(NET_SYNC_LINE)?.length ?? 0;
}

describe('network connect / disconnect on a running container', () => {
  test('the new NIC appears in the guest with its address and is reachable, and leaves on disconnect', async () => {
    const other = uniqueName('hot');
    const name = uniqueName('hotvm');
    await docker(['network', 'create', '--subnet', '172.31.252.0/24', other]);
    try {
      await runDetached(name, [`--runtime=${RUNTIME}`, BUSYBOX, 'httpd', '-f', '-p', '80', '-h', '/etc']);
      await docker(['exec', name, 'true']);
      // The watch's first look and the taps coming up while the guest booted start no Node
      // process (the net-sync step); a network change does, below. The Node data plane has none.
      if (SUPERVISOR) {
        await sleep(1500);
        assert.equal(await netSyncRuns(name), 0, 'no net-sync step for an unchanged network');
      }
      assert.equal((await docker(['network', 'connect', '--alias', 'hot-alias', other, name])).code, 0);
      const ip = await inspect(name, `{{(index .NetworkSettings.Networks "${other}").IPAddress}}`);
      const seen = await until(
        'the NIC in the guest',
        async () => {
          const r = await docker(['exec', name, 'ip', '-o', '-4', 'addr', 'show']);
          return r.stdout.includes(`inet ${ip}/24`) ? r.stdout : undefined;
        },
        30_000,
      );
      assert.match(seen, new RegExp(`eth1\\s+inet ${ip.replace(/\./g, '\\.')}/24`));
      if (SUPERVISOR) assert.ok((await netSyncRuns(name)) >= 1, 'the connect ran the net-sync step');
      const viaRunc = await runRunc([
        '--network',
        other,
        BUSYBOX,
        'sh',
        '-c',
        'echo "GET /hostname HTTP/1.0" | nc hot-alias 80 | tail -1',
      ]);
      assert.equal(viaRunc.stdout.trim(), await inspect(name, '{{.Config.Hostname}}'));
      assert.equal((await docker(['network', 'disconnect', other, name])).code, 0);
      await until(
        'the NIC to leave the guest',
        async () => {
          const r = await docker(['exec', name, 'ip', '-o', '-4', 'addr', 'show']);
          return r.stdout.includes(ip) ? undefined : true;
        },
        30_000,
      );
      const again = await docker([
        'exec',
        name,
        'ping',
        '-c',
        '1',
        '-W',
        '5',
        await inspect(name, '{{.NetworkSettings.Gateway}}'),
      ]);
      assert.equal(again.code, 0, 'the original network still works');
    } finally {
      await docker(['rm', '-f', name]);
      await docker(['network', 'rm', other]);
    }
  });
});

describe('none and host', () => {
  test('--network none: only loopback, and exec, logs and stop still work', async () => {
    const name = uniqueName('none');
    await runDetached(name, [
      `--runtime=${RUNTIME}`,
      '--network',
      'none',
      BUSYBOX,
      'sh',
      '-c',
      'echo started; trap "exit 3" TERM; while true; do sleep 0.1; done',
    ]);
    const r = await docker(['exec', name, 'sh', '-c', 'ip -o link | cut -d: -f2']);
    assert.equal(r.stdout.trim(), 'lo');
    assert.equal((await docker(['logs', name])).stdout, 'started\n');
    await docker(['stop', name]);
    assert.equal(await inspect(name, '{{.State.ExitCode}}'), '3');
  });

  test("--network host: the host's interfaces are never touched; the guest gets outbound NAT through the host", async () => {
    const peer = uniqueName('hostpeer');
    await runDetached(peer, ['--runtime=runc', BUSYBOX, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const peerIp = await inspect(peer, '{{.NetworkSettings.IPAddress}}');
    // Names and IPv4 addresses of the host's own interfaces (veths come and go with containers).
    const hostAddrs = async () => (await run('sh', ['-c', 'ip -o -4 addr show | grep -v veth'])).stdout;
    const linksBefore = await hostAddrs();
    const r = await runVm([
      '--network',
      'host',
      BUSYBOX,
      'sh',
      '-c',
      `hostname; ip -o -4 addr show eth0; echo "GET /hostname HTTP/1.0" | nc ${peerIp} 80 | tail -1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [hostname, addr, answer] = r.stdout.trim().split('\n');
    assert.equal(hostname, (await run('hostname', [])).stdout.trim());
    assert.match(addr ?? '', /inet 10\.0\.2\.15\/24/);
    assert.equal(answer, await inspect(peer, '{{.Config.Hostname}}'));
    assert.equal(await hostAddrs(), linksBefore);
  });
});

test('--dns, --dns-search, --dns-option, --add-host, --hostname and --domainname are visible in the guest', async () => {
  const r = await runVm([
    '--dns',
    '10.9.8.7',
    '--dns-search',
    'corp.test',
    '--dns-option',
    'ndots:3',
    '--add-host',
    'db.test:10.1.2.3',
    '--hostname',
    'web1',
    '--domainname',
    'example.test',
    BUSYBOX,
    'sh',
    '-c',
    'cat /etc/resolv.conf; grep db.test /etc/hosts; hostname; dnsdomainname',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /nameserver 10\.9\.8\.7/);
  assert.match(r.stdout, /search corp\.test/);
  assert.match(r.stdout, /options ndots:3/);
  assert.match(r.stdout, /10\.1\.2\.3\s+db\.test/);
  assert.match(r.stdout, /\nweb1\n/);
  assert.match(r.stdout, /example\.test\n$/);
});

test('the same checks pass with runc (the test is about Docker semantics, not runcvm quirks)', async () => {
  const r = await runRunc([
    '--hostname',
    'web1',
    '--domainname',
    'example.test',
    BUSYBOX,
    'sh',
    '-c',
    'hostname; dnsdomainname',
  ]);
  assert.equal(r.stdout, 'web1\nexample.test\n');
});
