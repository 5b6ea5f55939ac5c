/** Test support: an in-process QMP peer on a Unix socket (never QEMU: unit tests only). */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type QmpCommand = { execute: string; arguments?: Record<string, unknown> };

/** An in-process QMP peer: greeting, then one reply per command line (recorded). */
export async function stubQmp(
  reply: (cmd: QmpCommand) => string,
): Promise<{ path: string; seen: unknown[]; server: Server; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-qmp-'));
  const path = join(dir, 'qmp.sock');
  const seen: unknown[] = [];
  const server = createServer((s) => {
    s.write('{"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 22}}, "capabilities": []}}\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        seen.push(cmd);
        // An event in between must not be taken for the reply.
        s.write('{"event": "BALLOON_CHANGE", "data": {"actual": 1}}\r\n');
        s.write(`${reply(cmd)}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, seen, server, dir };
}
