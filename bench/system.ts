/**
 * systemd part of `npm run bench` (skip with BENCH_SYSTEM=0): `docker run -d` of the systemd test
 * image until `systemctl is-system-running` answers running or degraded (boot to ready), and
 * `docker stop` (SIGRTMIN+3) until systemd has shut the VM down. runcvm only: systemd does not
 * boot under runc here without --privileged, so there is no ratio.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, ensureImage, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_SYSTEM_N ?? 3);
const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';

async function bootToReady(name: string): Promise<number> {
  const t0 = Date.now();
  docker(['run', '-d', '--name', name, `--runtime=${RUNTIME}`, '--stop-timeout', '120', 'runcvm-test/systemd']);
  for (;;) {
    const r = spawnSync('docker', ['exec', name, 'systemctl', 'is-system-running'], { encoding: 'utf8' });
    const state = r.stdout.trim();
    if (state === 'running' || state === 'degraded') return Date.now() - t0;
    if (Date.now() - t0 > 600_000)
      throw new Error(`systemd in ${name} not ready after 600 s (${state || r.stderr.trim()})`);
    await sleep(250);
  }
}

export async function systemBench(): Promise<void> {
  ensureImage('runcvm-test/systemd', 'systemd');
  const boot: number[] = [];
  const stop: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const name = `runcvm-bench-systemd-${process.pid}-${i}`;
    try {
      boot.push(await bootToReady(name));
      const t0 = Date.now();
      docker(['stop', name]);
      stop.push(Date.now() - t0);
      const code = docker(['inspect', '-f', '{{.State.ExitCode}}', name]).trim();
      if (code !== '0') throw new Error(`systemd in ${name} stopped with status ${code}`);
    } finally {
      spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    }
    process.stderr.write(`systemd round ${i + 1}/${ROUNDS}: ready ${boot.at(-1)} ms, stop ${stop.at(-1)} ms\n`);
  }
  console.log(`systemd (runcvm-test/systemd, /sbin/init), ${ROUNDS} rounds`);
  console.log(`  docker run -d → is-system-running running/degraded   median ${median(boot)} ms`);
  console.log(`  docker stop (SIGRTMIN+3) → exited 0                  median ${median(stop)} ms`);
}
