/**
 * Firecracker's REST API over its Unix socket. A leaf module: it knows HTTP and Firecracker's
 * error shape, nothing of runcvm.
 */
import { request } from 'node:http';

export class FirecrackerApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly fault: string,
  ) {
    super(`firecracker API ${method} ${path}: HTTP ${status}: ${fault}`);
  }
}

export interface ApiCall {
  method: 'GET' | 'PUT' | 'PATCH';
  path: string;
  body?: unknown;
}

export class FirecrackerApi {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  call(c: ApiCall): Promise<unknown> {
    const payload = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method: c.method,
          path: c.path,
          timeout: this.timeoutMs,
          headers: {
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = text;
            }
            if (status >= 200 && status < 300) resolve(json);
            else
              reject(
                new FirecrackerApiError(
                  c.method,
                  c.path,
                  status,
                  (json as { fault_message?: string })?.fault_message ?? text,
                ),
              );
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`firecracker API ${c.method} ${c.path}: no answer within ${this.timeoutMs} ms`)),
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async version(): Promise<string> {
    const v = (await this.call({ method: 'GET', path: '/version' })) as { firecracker_version?: string };
    return v.firecracker_version ?? '';
  }
}
