/**
 * A client of containerd's CRI streaming server over the kubelet's WebSocket protocol
 * (`v4.channel.k8s.io`: one binary message per write, its first byte the channel), as kubectl's
 * streams reach containerd. Run as a program inside containerd's network namespace, where the
 * streaming server listens (pods.test.ts), with `node --experimental-websocket`:
 * - `portforward URL PORT < request`: channel 0 data, 1 error, each starting with the port (u16
 *   little-endian); sends stdin on channel 0, prints what came back on 0 to stdout and 1 to
 *   stderr, exit 0 once the server closed the stream.
 * - `attach URL TEXT < stdin`: channel 1 stdout, 2 stderr; sends stdin, when not empty, on
 *   channel 0 first, prints the container's stdout until it holds TEXT, then closes (exit 0).
 * - `exec URL TEXT < stdin`: the same for an Exec's stream (kubectl exec), which the server
 *   closes when the command ends (channel 3 carries its status).
 */
import { readFileSync } from 'node:fs';

const [mode, url, arg] = process.argv.slice(2);
if (!url || !arg || (mode !== 'portforward' && mode !== 'attach' && mode !== 'exec'))
  throw new Error('usage: cri-stream-client portforward URL PORT < request | attach|exec URL TEXT');
const target = mode === 'portforward' ? `${url.replace(/^http/, 'ws')}?port=${arg}` : url.replace(/^http/, 'ws');
const ws = new WebSocket(target, ['v4.channel.k8s.io']);
ws.binaryType = 'arraybuffer';
const started = [false, false];
const out: Buffer[] = [];
let error = '';
const finish = (code: number) => {
  process.stdout.write(Buffer.concat(out));
  process.stderr.write(error);
  process.exit(code);
};
ws.onopen = () => {
  if (mode === 'portforward') ws.send(Buffer.concat([Buffer.from([0]), readFileSync(0)]));
  if (mode !== 'portforward') {
    const input = readFileSync(0);
    if (input.length) ws.send(Buffer.concat([Buffer.from([0]), input]));
  }
};
ws.onmessage = (e: MessageEvent) => {
  const b = Buffer.from(e.data as ArrayBuffer);
  const channel = b[0] as number;
  let body = b.subarray(1);
  if (mode === 'portforward') {
    if (channel <= 1 && !started[channel]) {
      started[channel] = true;
      body = body.subarray(2); // the port this channel is for
    }
    if (channel === 0) out.push(body);
    else error += body.toString();
    return;
  }
  if (channel === 1) out.push(body);
  else if (channel >= 2) error += body.toString();
  if (Buffer.concat(out).includes(arg)) {
    ws.onclose = null;
    ws.close();
    finish(0);
  }
};
ws.onerror = () => {
  error += 'websocket error\n';
};
ws.onclose = () => finish(mode === 'portforward' ? 0 : 1);
setTimeout(() => {
  error += `cri-stream-client: nothing more after 120 s\n`;
  finish(2);
}, 120_000).unref();
