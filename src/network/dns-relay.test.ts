import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { type AddressInfo, createServer } from 'node:net';
import { test } from 'node:test';
import { relayDnsQuery, relayDnsQueryTcp, resolvConfUsesDockerDns } from './dns-relay.ts';

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

test('over TCP: the length-prefixed query reaches the server, an answer larger than UDP comes back whole', async () => {
  const big = Buffer.alloc(9000, 0x61);
  const server = createServer((c) => {
    let got = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return;
      assert.equal(got.subarray(2).toString(), 'query');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(big.length, 0);
      // In two writes: the relay must wait for the whole answer.
      c.write(Buffer.concat([len, big.subarray(0, 100)]));
      setTimeout(() => c.end(big.subarray(100)), 20);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const answer = await relayDnsQueryTcp(Buffer.from('query'), '127.0.0.1', port);
    assert.deepEqual(answer, big);
  } finally {
    server.close();
  }
});
