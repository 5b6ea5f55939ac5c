/**
 * Docker's embedded DNS answers on 127.0.0.11 inside the container's network namespace
 * (dockerd's socket plus DNAT rules there). The guest's 127.0.0.11 is its own loopback, so the
 * agent passes queries over the agent channel and the launcher, which runs in that namespace,
 * asks 127.0.0.11 for it. Only UDP: the agent answers TCP clients with nothing.
 */
import { createSocket } from 'node:dgram';

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
