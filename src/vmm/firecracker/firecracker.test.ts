import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FirecrackerApi, FirecrackerApiError } from './api-client.ts';
import { versionProblem } from './version.ts';

test('the API client sends method, path and JSON body over the Unix socket and maps errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runcvm-fcapi-'));
  const sock = join(dir, 'api.sock');
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? '-'} ${body}`);
      if (req.url === '/version')
        return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"firecracker_version":"1.16.1"}');
      if (req.url === '/machine-config') return res.writeHead(400).end('{"fault_message":"Invalid vCPU count"}');
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const api = new FirecrackerApi(sock);
    assert.equal(await api.version(), '1.16.1');
    assert.equal(
      await api.call({ method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } }),
      undefined,
    );
    await assert.rejects(
      api.call({ method: 'PUT', path: '/machine-config', body: { vcpu_count: 3, mem_size_mib: 1 } }),
      (e: Error) =>
        e instanceof FirecrackerApiError && /PUT \/machine-config: HTTP 400: Invalid vCPU count/.test(e.message),
    );
    assert.deepEqual(seen, [
      'GET /version - ',
      'PUT /actions application/json {"action_type":"InstanceStart"}',
      'PUT /machine-config application/json {"vcpu_count":3,"mem_size_mib":1}',
    ]);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only the Firecracker versions the driver was built for are accepted', () => {
  assert.equal(versionProblem('Firecracker v1.16.1\n\nSupported snapshot data format versions: ...'), null);
  assert.equal(versionProblem('Firecracker v1.8.0'), null);
  assert.match(
    versionProblem('Firecracker v1.7.0') ?? '',
    /v1\.7\.0 is not supported \(this runcvm supports v1\.8\.x to v1\.16\.x\)/,
  );
  assert.match(versionProblem('Firecracker v2.0.0') ?? '', /not supported/);
  assert.match(versionProblem('garbage') ?? '', /cannot tell the firecracker version/);
});
