import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { relayDnsQuery, resolvConfUsesDockerDns } from './dns-relay.ts';

test("only resolv.conf files naming Docker's embedded DNS need the relay", () => {
  assert.equal(resolvConfUsesDockerDns('search x\nnameserver 127.0.0.11\noptions ndots:0\n'), true);
  assert.equal(resolvConfUsesDockerDns('nameserver 10.255.255.53\n'), false);
  assert.equal(resolvConfUsesDockerDns('# nameserver 127.0.0.11\nnameserver 1.1.1.1\n'), false);
});

test('a query goes to the server and its answer comes back; silence gives undefined', async () => {
  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  server.on('message', (msg, rinfo) =>
    server.send(Buffer.concat([msg, Buffer.from('-answer')]), rinfo.port, rinfo.address),
  );
  try {
    const port = server.address().port;
    const answer = await relayDnsQuery(Buffer.from('query'), '127.0.0.1', port);
    assert.equal(answer?.toString(), 'query-answer');
  } finally {
    server.close();
  }
});
