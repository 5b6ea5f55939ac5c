import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openInRoot, readFileInRoot, socketPathOf } from './open-in-root.ts';
import { tryConnect } from './unix-socket.ts';

const tmp = mkdtempSync(join(tmpdir(), 'runcvm-open-in-root-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const root = join(tmp, 'root');
const outside = join(tmp, 'outside');
mkdirSync(join(root, 'run', 'runcvm'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(outside, 'secret'), 'host secret');
writeFileSync(join(root, 'run', 'runcvm', 'boot.json'), '{"ok":1}');
// What a compromised launcher could plant: links out of its root, absolute and relative.
symlinkSync(outside, join(root, 'run', 'out'));
symlinkSync(join(outside, 'secret'), join(root, 'run', 'runcvm', 'link.json'));
execFileSync('mkfifo', [join(root, 'run', 'runcvm', 'fifo')]);

test('a regular file under the root is read, at most max bytes', () => {
  assert.equal(readFileInRoot(root, '/run/runcvm/boot.json', 100), '{"ok":1}');
  assert.equal(readFileInRoot(root, 'run/runcvm/boot.json', 3), '{"o');
});

test('no link is followed, in the middle or at the end, and a FIFO is refused without blocking', () => {
  // O_DIRECTORY|O_NOFOLLOW on a link: ENOTDIR.
  assert.throws(() => readFileInRoot(root, 'run/out/secret', 100), { code: 'ENOTDIR' });
  assert.throws(() => readFileInRoot(root, 'run/runcvm/link.json', 100), { code: 'ELOOP' });
  assert.throws(() => readFileInRoot(root, 'run/runcvm/fifo', 100), /is not a regular file/);
  assert.throws(() => readFileInRoot(root, 'run/../run/runcvm/boot.json', 100), /not a plain relative path/);
  assert.throws(() => readFileInRoot(root, 'run/runcvm/missing', 100), { code: 'ENOENT' });
});

test('a socket is connected to through the descriptor that was checked', async () => {
  const path = join(root, 'run', 'runcvm', 'exec.sock');
  const server = createServer((c) => c.end('hello'));
  await new Promise<void>((r) => server.listen(path, r));
  try {
    assert.throws(() => openInRoot(root, 'run/runcvm/boot.json', 'socket'), /is not a socket/);
    const fd = openInRoot(root, 'run/runcvm/exec.sock', 'socket');
    const sock = await tryConnect(socketPathOf(fd));
    closeSync(fd);
    assert.ok(sock);
    const got = await new Promise<string>((r) => sock.once('data', (d) => r(d.toString())));
    assert.equal(got, 'hello');
    sock.destroy();
  } finally {
    server.close();
  }
});
