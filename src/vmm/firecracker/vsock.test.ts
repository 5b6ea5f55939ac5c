import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { vsockConnect } from './vsock.ts';

/** A real Unix-socket peer behaving like Firecracker's vsock muxer. */
function peer(path: string, behave: (conn: Socket, attempt: number, line: string) => void): Promise<Server> {
  let attempt = 0;
  const server = createServer((conn) => {
    let buf = '';
    conn.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\n')) behave(conn, ++attempt, buf.split('\n')[0] as string);
    });
  });
  return new Promise((r) => server.listen(path, () => r(server)));
}

test('retries while the guest is not listening, then streams after OK', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-vsock-'));
  const path = join(dir, 'v.sock');
  const server = await peer(path, (conn, attempt, line) => {
    assert.equal(line, 'CONNECT 1024');
    if (attempt === 1)
      conn.destroy(); // guest not listening: Firecracker drops the connection
    else if (attempt === 2)
      return; // the handshake goes unanswered for a while after boot
    else conn.end('OK 1073741824\nhello-from-guest');
  });
  try {
    const sock = await vsockConnect(path, 1024, { timeoutMs: 10_000, retryMs: 5, answerTimeoutMs: 200 });
    const data = await new Promise<string>((r) => {
      let s = '';
      sock.on('data', (d) => (s += d));
      sock.on('end', () => r(s));
      sock.resume();
    });
    assert.equal(data, 'hello-from-guest');
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gives up at the deadline with the last reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-vsock-'));
  const path = join(dir, 'v.sock');
  const server = await peer(path, (conn) => conn.end('FAILURE\n'));
  try {
    await assert.rejects(
      vsockConnect(path, 1024, { timeoutMs: 300, retryMs: 10 }),
      /not reachable within 300 ms: .*unexpected answer "FAILURE"/,
    );
    await assert.rejects(vsockConnect(join(dir, 'missing.sock'), 5, { timeoutMs: 100, retryMs: 10 }), /ENOENT/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
