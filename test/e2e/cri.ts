/**
 * A minimal Kubernetes CRI client (runtime.v1 or v1alpha2 over gRPC on containerd's socket), enough to do
 * what the kubelet does for a pod: RunPodSandbox with a runtime handler (what a RuntimeClass
 * names), CreateContainer, StartContainer, ExecSync, ContainerStatus, stop/remove. crictl is not
 * packaged for Debian 12, so the protobuf messages are encoded by hand (field numbers from
 * k8s.io/cri-api runtime/v1/api.proto).
 */
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';

type Field = [number, string | number | Buffer | Field[] | undefined];

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

/** Encodes [field, value] pairs: numbers as varints, strings/Buffers/nested lists length-delimited. */
export function encode(fields: Field[]): Buffer {
  const parts: Buffer[] = [];
  for (const [n, v] of fields) {
    if (v === undefined) continue;
    if (typeof v === 'number') {
      parts.push(varint(n << 3), varint(v));
    } else {
      const body = typeof v === 'string' ? Buffer.from(v) : Buffer.isBuffer(v) ? v : encode(v);
      parts.push(varint((n << 3) | 2), varint(body.length), body);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes one message level: field number → list of values (Buffer for length-delimited, number for varint). */
export function decode(buf: Buffer): Map<number, (Buffer | number)[]> {
  const out = new Map<number, (Buffer | number)[]>();
  let i = 0;
  const readVarint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(readVarint());
    const n = key >> 3;
    const wt = key & 7;
    let val: Buffer | number;
    if (wt === 0) val = Number(BigInt.asIntN(64, readVarint()));
    else if (wt === 2) {
      const len = Number(readVarint());
      val = buf.subarray(i, i + len);
      i += len;
    } else if (wt === 1) {
      val = Number(buf.readBigInt64LE(i));
      i += 8;
    } else if (wt === 5) {
      val = buf.readInt32LE(i);
      i += 4;
    } else throw new Error(`protobuf: wire type ${wt} not handled`);
    out.set(n, [...(out.get(n) ?? []), val]);
  }
  return out;
}

export class CriError extends Error {}

export class Cri {
  /** containerd 1.6 serves runtime.v1 and v1alpha2 (same field numbers for what we use); Debian's build only the latter. */
  private api = 'runtime.v1';

  constructor(private readonly socket: string) {}

  async call(method: string, request: Field[], timeoutMs = 180_000): Promise<Buffer> {
    try {
      return await this.callOnce(method, request, timeoutMs);
    } catch (e) {
      if (this.api !== 'runtime.v1' || !/grpc status 12: unknown service/.test((e as Error).message)) throw e;
      this.api = 'runtime.v1alpha2';
      return this.callOnce(method, request, timeoutMs);
    }
  }

  private callOnce(method: string, request: Field[], timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const session = h2connect('http://localhost', { createConnection: () => netConnect(this.socket) });
      const fail = (e: Error) => {
        session.destroy();
        reject(e);
      };
      session.on('error', fail);
      const body = encode(request);
      const frame = Buffer.alloc(5 + body.length);
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      const req = session.request({
        ':method': 'POST',
        ':path': `/${this.api}.RuntimeService/${method}`,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const timer = setTimeout(() => fail(new CriError(`${method}: no answer after ${timeoutMs} ms`)), timeoutMs);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      req.on('response', take);
      req.on('trailers', take);
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        clearTimeout(timer);
        session.close();
        if (status !== '0') return reject(new CriError(`${method}: grpc status ${status}: ${message}`));
        const all = Buffer.concat(chunks);
        resolve(all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0));
      });
      req.on('error', fail);
      req.end(frame);
    });
  }
}

export interface PodSpec {
  name: string;
  uid: string;
  namespace: string;
  logDirectory: string;
}

function sandboxConfig(p: PodSpec): Field[] {
  return [
    [
      1,
      [
        [1, p.name],
        [2, p.uid],
        [3, p.namespace],
        [4, 0],
      ],
    ],
    [2, p.name],
    [3, p.logDirectory],
  ];
}

const str = (v: Buffer | number | undefined) => (Buffer.isBuffer(v) ? v.toString() : '');

export async function runPodSandbox(cri: Cri, pod: PodSpec, handler: string): Promise<string> {
  const r = decode(
    await cri.call('RunPodSandbox', [
      [1, sandboxConfig(pod)],
      [2, handler],
    ]),
  );
  return str(r.get(1)?.[0]);
}

export interface ContainerOptions {
  /** Bytes (LinuxContainerResources.memory_limit_in_bytes). */
  memoryLimit?: number;
  /** Host bind mounts (CRI Mount: container_path, host_path, readonly). */
  mounts?: { containerPath: string; hostPath: string; readonly?: boolean }[];
  attempt?: number;
  /** LinuxContainerResources.cpu_quota / cpu_period (microseconds). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** LinuxContainerResources.cpu_shares (the kubelet's resources.requests.cpu: 1 CPU = 1024). */
  cpuShares?: number;
  /** ContainerConfig.tty (and stdin, as the kubelet sets both for `tty: true`). */
  tty?: boolean;
  /** NamespaceOption.pid: 0 POD (shareProcessNamespace), 1 CONTAINER (the kubelet's default). */
  pidMode?: number;
}

/** LinuxContainerResources: cpu_period 1, cpu_quota 2, cpu_shares 3, memory_limit_in_bytes 4. */
function linuxResources(r: Pick<ContainerOptions, 'cpuPeriod' | 'cpuQuota' | 'cpuShares' | 'memoryLimit'>): Field[] {
  return [
    [1, r.cpuPeriod],
    [2, r.cpuQuota],
    [3, r.cpuShares],
    [4, r.memoryLimit],
  ];
}

/** UpdateContainerResources (the kubelet's in-place resize): new CPU and memory limits. */
export async function updateContainerResources(
  cri: Cri,
  id: string,
  r: Pick<ContainerOptions, 'cpuPeriod' | 'cpuQuota' | 'cpuShares' | 'memoryLimit'>,
): Promise<void> {
  await cri.call('UpdateContainerResources', [
    [1, id],
    [2, linuxResources(r)],
  ]);
}

export async function createContainer(
  cri: Cri,
  sandboxId: string,
  pod: PodSpec,
  name: string,
  image: string,
  command: string[],
  opts: ContainerOptions = {},
): Promise<string> {
  const config: Field[] = [
    [
      1,
      [
        [1, name],
        [2, opts.attempt],
      ],
    ],
    [2, [[1, image]]],
    ...command.map((c): Field => [3, c]),
    ...(opts.mounts ?? []).map(
      (m): Field => [
        7,
        [
          [1, m.containerPath],
          [2, m.hostPath],
          [3, m.readonly ? 1 : 0],
        ],
      ],
    ),
    [11, `${name}${opts.attempt ? `.${opts.attempt}` : ''}.log`],
    [12, opts.tty ? 1 : undefined],
    [14, opts.tty ? 1 : undefined],
    [
      15,
      [
        [1, opts.memoryLimit || opts.cpuQuota || opts.cpuShares ? linuxResources(opts) : undefined],
        [2, [[3, [[2, opts.pidMode ?? 0]]]]],
      ],
    ],
  ];
  const r = decode(
    await cri.call('CreateContainer', [
      [1, sandboxId],
      [2, config],
      [3, sandboxConfig(pod)],
    ]),
  );
  return str(r.get(1)?.[0]);
}

export async function stopContainer(cri: Cri, id: string, timeoutS = 10): Promise<void> {
  await cri.call('StopContainer', [
    [1, id],
    [2, timeoutS],
  ]);
}

export async function removeContainer(cri: Cri, id: string): Promise<void> {
  await cri.call('RemoveContainer', [[1, id]]);
}

/** The pod's IP (PodSandboxStatus.network.ip). */
export async function podIp(cri: Cri, sandboxId: string): Promise<string> {
  const status = decode(decode(await cri.call('PodSandboxStatus', [[1, sandboxId]])).get(1)?.[0] as Buffer);
  const network = decode((status.get(5)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
  return str(network.get(1)?.[0]);
}

export async function startContainer(cri: Cri, id: string): Promise<void> {
  await cri.call('StartContainer', [[1, id]]);
}

/** CONTAINER_CREATED=0, RUNNING=1, EXITED=2, UNKNOWN=3. */
export async function containerStatus(
  cri: Cri,
  id: string,
): Promise<{ state: number; exitCode: number; reason: string }> {
  const status = decode(decode(await cri.call('ContainerStatus', [[1, id]])).get(1)?.[0] as Buffer);
  return {
    state: (status.get(3)?.[0] as number | undefined) ?? 0,
    exitCode: (status.get(7)?.[0] as number | undefined) ?? 0,
    reason: str(status.get(10)?.[0]),
  };
}

export async function execSync(
  cri: Cri,
  id: string,
  cmd: string[],
  timeoutS = 120,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = decode(
    await cri.call('ExecSync', [[1, id], ...cmd.map((c): Field => [2, c]), [3, timeoutS]], (timeoutS + 30) * 1000),
  );
  return {
    stdout: str(r.get(1)?.[0]),
    stderr: str(r.get(2)?.[0]),
    exitCode: (r.get(3)?.[0] as number | undefined) ?? 0,
  };
}

export async function removePod(cri: Cri, sandboxId: string): Promise<void> {
  await cri.call('StopPodSandbox', [[1, sandboxId]]);
  await cri.call('RemovePodSandbox', [[1, sandboxId]]);
}

/** PortForward: the streaming server's URL for this pod (PortForwardResponse.url). */
export async function portForwardUrl(cri: Cri, sandboxId: string, port: number): Promise<string> {
  const r = decode(
    // repeated int32 port, sent unpacked (a varint per value), which every protobuf parser takes.
    await cri.call('PortForward', [
      [1, sandboxId],
      [2, port],
    ]),
  );
  return str(r.get(1)?.[0]);
}

/** ContainerStats: CPU (usage_core_nano_seconds) and memory (working_set_bytes) as containerd reports them. */
export async function containerStats(cri: Cri, id: string): Promise<{ cpuNs: number; workingSetBytes: number }> {
  const stats = decode(decode(await cri.call('ContainerStats', [[1, id]])).get(1)?.[0] as Buffer);
  const inner = (field: number, value: number) => {
    const m = decode((stats.get(field)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
    const v = decode((m.get(value)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
    return (v.get(1)?.[0] as number | undefined) ?? -1;
  };
  return { cpuNs: inner(2, 2), workingSetBytes: inner(3, 2) };
}

/**
 * Attach to a running container: the streaming server's URL (AttachResponse.url). Its stdout and
 * stderr; with `tty` (a `tty: true` container, kubectl attach -it) its stdin and terminal instead.
 */
export async function attachUrl(cri: Cri, id: string, o: { tty?: boolean } = {}): Promise<string> {
  const r = decode(
    await cri.call('Attach', [
      [1, id],
      [2, o.tty ? 1 : undefined],
      [3, o.tty ? 1 : undefined],
      [4, 1],
      [5, o.tty ? undefined : 1],
    ]),
  );
  return str(r.get(1)?.[0]);
}

/**
 * Exec (kubectl exec): the streaming server's URL (ExecResponse.url). `tty` (kubectl exec -t)
 * takes stdout only (the CRI refuses a tty with stderr); containerd's stream of a tty exec
 * carries its output only with stdin open too (kubectl exec -it), with runc as well.
 */
export async function execUrl(
  cri: Cri,
  id: string,
  cmd: string[],
  o: { tty?: boolean; stdin?: boolean } = {},
): Promise<string> {
  const r = decode(
    await cri.call('Exec', [
      [1, id],
      ...cmd.map((c): Field => [2, c]),
      [3, o.tty ? 1 : undefined],
      [4, o.stdin ? 1 : undefined],
      [5, 1],
      [6, o.tty ? undefined : 1],
    ]),
  );
  return str(r.get(1)?.[0]);
}
