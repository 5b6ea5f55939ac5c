/**
 * Network part of `npm run bench` (skip with BENCH_NETWORK=0): TCP throughput (iperf3) and HTTP
 * request latency (ab against nginx) between two containers on a user-defined network, both
 * runcvm or both runc. Prints medians and runcvm/runc ratios.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, ensureImage, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_NETWORK_N ?? 3);
const IMAGE = 'runcvm-test/net';

interface NetSample {
  mbitPerSec: number;
  latencyMs: number;
}

async function measurePair(runtime: string, net: string): Promise<NetSample[]> {
  const server = `runcvm-bench-srv-${runtime}-${process.pid}`;
  const client = `runcvm-bench-cli-${runtime}-${process.pid}`;
  try {
    docker([
      'run',
      '-d',
      '--name',
      server,
      `--runtime=${runtime}`,
      '--network',
      net,
      IMAGE,
      'sh',
      '-c',
      'iperf3 -s -D; nginx -g "daemon off;"',
    ]);
    docker(['run', '-d', '--name', client, `--runtime=${runtime}`, '--network', net, IMAGE, 'sleep', '3600']);
    for (let i = 0; i < 600; i++) {
      try {
        docker(['exec', client, 'sh', '-c', `ab -q -n 1 http://${server}/ >/dev/null`]);
        break;
      } catch {
        await sleep(200);
      }
    }
    const samples: NetSample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const iperf = JSON.parse(docker(['exec', client, 'iperf3', '-c', server, '-t', '5', '-J'])) as {
        end: { sum_received: { bits_per_second: number } };
      };
      const ab = docker(['exec', client, 'ab', '-n', '200', '-c', '1', `http://${server}/`]);
      const m = /Time per request:\s+([\d.]+) \[ms\] \(mean\)/.exec(ab);
      samples.push({ mbitPerSec: iperf.end.sum_received.bits_per_second / 1e6, latencyMs: Number(m?.[1]) });
    }
    return samples;
  } finally {
    docker(['rm', '-f', server, client]);
  }
}

export async function networkBench(): Promise<void> {
  ensureImage(IMAGE, 'net');
  const net = `runcvm-bench-net-${process.pid}`;
  docker(['network', 'create', net]);
  try {
    const runc = await measurePair('runc', net);
    const vm = await measurePair('runcvm', net);
    const tp = (s: NetSample[]) => median(s.map((x) => x.mbitPerSec));
    const lat = (s: NetSample[]) => median(s.map((x) => x.latencyMs));
    console.log(
      `container ↔ container on a user-defined network, ${ROUNDS} rounds (iperf3 5 s; ab 200 sequential requests to nginx)`,
    );
    console.log(
      `  TCP throughput   runc ${tp(runc).toFixed(0)} Mbit/s   runcvm ${tp(vm).toFixed(0)} Mbit/s   ratio runc/runcvm ${(tp(runc) / tp(vm)).toFixed(2)}x`,
    );
    console.log(
      `  request latency  runc ${lat(runc).toFixed(2)} ms   runcvm ${lat(vm).toFixed(2)} ms   ratio runcvm/runc ${(lat(vm) / lat(runc)).toFixed(2)}x`,
    );
  } finally {
    docker(['network', 'rm', net]);
  }
}
