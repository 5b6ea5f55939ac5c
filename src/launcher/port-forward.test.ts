/** The PortForward relay (port-forward.ts): its REDIRECT rule, and connections handed whole to the client. */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { StartTag } from '../agent-protocol/messages.ts';
import { readTlv } from '../agent-protocol/testdata/tlv-reader.ts';
import { redirectRule, reserveRelayPort, servePortForward, streamStart } from './port-forward.ts';

test('the REDIRECT rule diverts TCP to the namespace loopback to the relay port, and nothing else', () => {
  assert.deepEqual(redirectRule(40123), [
    '-t',
    'nat',
    '-A',
    'OUTPUT',
    '-p',
    'tcp',
    '-d',
    '127.0.0.0/8',
    '-m',
    'comment',
    '--comment',
    'runcvm-port-forward',
    '-j',
    'REDIRECT',
    '--to-ports',
    '40123',
  ]);
  assert.throws(() => redirectRule(0), /expected 1 to 65535/);
  assert.throws(() => redirectRule(70000), /expected 1 to 65535/);
});

test('a stream START names no program the guest could run: ARG port-forward, no tty, no container', () => {
  const recs = readTlv(Buffer.from(streamStart(), 'base64'));
  assert.deepEqual(
    recs.filter((r) => r.tag === StartTag.ARG).map((r) => r.value.toString()),
    ['port-forward'],
  );
  assert.deepEqual([...(recs.find((r) => r.tag === StartTag.TERMINAL)?.value ?? [])], [0]);
  assert.equal(
    recs.some((r) => r.tag === StartTag.CONTAINER || r.tag === StartTag.JOIN || r.tag === StartTag.PORT),
    false,
  );
});

test('each connection is handed whole to a client process, which owns it until it exits', async () => {
  const rules: string[][] = [];
  const problems: string[] = [];
  // cat stands in for runcvm-exec: it echoes the connection, proving it got every byte.
  const pf = await servePortForward({
    iptables: (a) => rules.push(a),
    problem: (m) => problems.push(m),
    client: 'cat',
  });
  try {
    assert.deepEqual(rules, [redirectRule(pf.port)]);
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = connect(pf.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('end', () => resolve(got));
      s.on('error', reject);
      s.end('hello through the relay');
    });
    assert.equal(echoed, 'hello through the relay');
    assert.deepEqual(problems, []);
  } finally {
    pf.close();
  }
});

test('a relay whose rule cannot be added fails and stops listening', async () => {
  await assert.rejects(
    servePortForward({
      iptables: () => {
        throw new Error('iptables: No chain/target/match by that name.');
      },
      problem: () => {},
      client: 'cat',
    }),
    /diverting the pod's loopback to the relay: iptables: No chain/,
  );
});

test('under the supervisor: a free loopback port, the REDIRECT to it set, the port free again for the supervisor', async () => {
  const rules: string[][] = [];
  const port = await reserveRelayPort((args) => {
    rules.push(args);
  });
  assert.deepEqual(rules, [redirectRule(port)]);
  // Free: the supervisor binds it next (portfwd.h).
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port }, () => resolve());
  });
  await new Promise((resolve) => s.close(resolve));
  await assert.rejects(
    reserveRelayPort(() => {
      throw new Error('iptables: No chain/target/match by that name.');
    }),
    /port-forward: diverting the pod's loopback to the relay: iptables: No chain/,
  );
});
