/**
 * Docker's embedded DNS answers on 127.0.0.11 inside the container's network namespace
 * (dockerd's socket plus DNAT rules there). The guest's 127.0.0.11 is its own loopback, so the
 * agent passes queries over the agent channel and the launcher, which runs in that namespace,
 * asks 127.0.0.11 for it, over UDP, or over TCP for a query that came over TCP in the guest (an
 * answer too large for UDP).
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export const DOCKER_DNS = '127.0.0.11';
const QUERY_TIMEOUT_MS = 5_000;

export function resolvConfUsesDockerDns(resolvConf: string): boolean {
  return resolvConf.split('\n').some((l) => /^\s*nameserver\s+127\.0\.0\.11\s*$/.test(l));
}

export function relayDnsQuery(query: Buffer, server = DOCKER_DNS, port = 53): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), QUERY_TIMEOUT_MS);
    sock.once('message', (msg) => done(msg));
    sock.once('error', () => done(undefined));
    sock.send(query, port, server);
  });
}

/** The same over TCP: a 2-byte length before the query and before the answer (RFC 1035 4.2.2). */
export function relayDnsQueryTcp(query: Buffer, server = DOCKER_DNS, port = 53): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const sock = connect(port, server);
    let got = Buffer.alloc(0);
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), QUERY_TIMEOUT_MS);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(query.length, 0);
    sock.on('connect', () => sock.write(Buffer.concat([len, query])));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(got.subarray(2, 2 + got.readUInt16BE(0)));
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}
