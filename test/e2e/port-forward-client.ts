/**
 * A CRI PortForward client over the streaming server's WebSocket protocol (the kubelet's
 * `v4.channel.k8s.io`: one binary message per write, its first byte the channel, 0 data and 1
 * error; each channel starts with the port, u16 little-endian), as kubectl port-forward's stream
 * reaches containerd. Run as a program inside containerd's network namespace, where the streaming
 * server listens (pods.test.ts): `node --experimental-websocket port-forward-client.ts URL PORT`,
 * with the bytes to send on stdin; prints what came back on the data channel to stdout and the
 * error channel to stderr, exit 0 once the server closed the stream.
 */
import { readFileSync } from 'node:fs';

const [url, port] = process.argv.slice(2);
if (!url || !port) throw new Error('usage: port-forward-client URL PORT < request');
const request = readFileSync(0);
const ws = new WebSocket(`${url.replace(/^http/, 'ws')}?port=${port}`, ['v4.channel.k8s.io']);
ws.binaryType = 'arraybuffer';
const started = [false, false];
const data: Buffer[] = [];
let error = '';
ws.onopen = () => ws.send(Buffer.concat([Buffer.from([0]), request]));
ws.onmessage = (e: MessageEvent) => {
  const b = Buffer.from(e.data as ArrayBuffer);
  const channel = b[0] as number;
  let body = b.subarray(1);
  if (channel <= 1 && !started[channel]) {
    started[channel] = true;
    body = body.subarray(2); // the port this channel is for
  }
  if (channel === 0) data.push(body);
  else error += body.toString();
};
ws.onerror = () => {
  process.stderr.write('websocket error\n');
};
ws.onclose = () => {
  process.stdout.write(Buffer.concat(data));
  process.stderr.write(error);
  process.exit(0);
};
setTimeout(() => {
  process.stderr.write('port-forward-client: no end of stream after 120 s\n');
  process.exit(2);
}, 120_000).unref();
