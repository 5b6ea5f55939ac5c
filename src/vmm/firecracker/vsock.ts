/**
 * Host side of a Firecracker vsock connection: connect to the Unix socket Firecracker listens
 * on, ask for a guest port with `CONNECT <port>\n` and wait for `OK <host port>\n`. Right after
 * boot the guest is not listening yet and Firecracker closes the connection (or never answers),
 * so the handshake is retried until a deadline.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export class VsockHandshakeError extends Error {}

/** One attempt: resolves with the socket (paused) positioned after the OK line, or rejects. */
export function vsockConnectOnce(udsPath: string, port: number, answerTimeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(udsPath);
    let buf = Buffer.alloc(0);
    const fail = (why: string) => {
      sock.destroy();
      reject(new VsockHandshakeError(`vsock ${udsPath} port ${port}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no answer to CONNECT within ${answerTimeoutMs} ms`), answerTimeoutMs);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (buf.length > 64) fail('handshake line too long');
        return;
      }
      clearTimeout(timer);
      const line = buf.subarray(0, nl).toString('ascii');
      if (!/^OK \d+$/.test(line)) return fail(`unexpected answer "${line}"`);
      // Paused, so nothing is emitted before the caller listens: it attaches 'data' and resumes.
      sock.pause();
      sock.off('data', onData);
      sock.off('close', onClose);
      const rest = buf.subarray(nl + 1);
      // Bytes the guest sent right after the OK belong to the caller's stream.
      if (rest.length > 0) sock.unshift(rest);
      resolve(sock);
    };
    const onClose = () => {
      clearTimeout(timer);
      fail('connection closed before OK (is the guest listening?)');
    };
    sock.once('connect', () => sock.write(`CONNECT ${port}\n`));
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.once('error', (e) => {
      clearTimeout(timer);
      fail(e.message);
    });
  });
}

export async function vsockConnect(
  udsPath: string,
  port: number,
  opts: { timeoutMs: number; retryMs?: number; answerTimeoutMs?: number; signal?: AbortSignal },
): Promise<Socket> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    opts.signal?.throwIfAborted();
    try {
      return await vsockConnectOnce(udsPath, port, opts.answerTimeoutMs ?? 1000);
    } catch (e) {
      last = e as Error;
      await sleep(opts.retryMs ?? 50);
    }
  }
  throw new VsockHandshakeError(
    `vsock port ${port} not reachable within ${opts.timeoutMs} ms: ${last?.message ?? 'no attempt'}`,
  );
}
