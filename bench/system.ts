/**
 * systemd and Docker-in-Docker part of `npm run bench` (skip with BENCH_SYSTEM=0), on each guest
 * kernel in the same rounds: `docker run -d` of the systemd test image until `systemctl
 * is-system-running` answers running or degraded (boot to ready), and `docker stop`
 * (SIGRTMIN+3) until systemd has shut the VM down; `docker run -d` of the Docker-in-Docker image
 * (/var/lib/docker on a RUNCVM_DISKS ext4 disk, as docs/system.md describes) until the guest's
 * dockerd answers `docker version`. runcvm only: neither boots under runc here without
 * --privileged, so there is no runc ratio; the kernels' ratio is the figure.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { KERNELS } from '../src/contracts/kinds.ts';
import { docker, ensureImage, median } from './common.ts';

const ROUNDS = Number(process.env.BENCH_SYSTEM_N ?? 3);
const RUNTIME = process.env.RUNCVM_RUNTIME ?? 'runcvm';
const LIMIT_MS = 600_000;

/** Polls `docker exec NAME ...probe` until ready() accepts its stdout; ms since t0. */
async function until(name: string, t0: number, probe: string[], ready: (out: string) => boolean): Promise<number> {
  for (;;) {
    const r = spawnSync('docker', ['exec', name, ...probe], { encoding: 'utf8' });
    if (r.status === 0 && ready(r.stdout.trim())) return Date.now() - t0;
    if (Date.now() - t0 > LIMIT_MS)
      throw new Error(
        `${name}: ${probe.join(' ')} not ready after ${LIMIT_MS / 1000} s (${r.stdout.trim() || r.stderr.trim()})`,
      );
    await sleep(250);
  }
}

async function systemdRound(name: string, kernel: string): Promise<{ boot: number; stop: number }> {
  try {
    const t0 = Date.now();
    docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-e',
      `RUNCVM_KERNEL=${kernel}`,
      '--stop-timeout',
      '120',
      'runcvm-test/systemd',
    ]);
    const boot = await until(name, t0, ['systemctl', 'is-system-running'], (s) => s === 'running' || s === 'degraded');
    const t1 = Date.now();
    docker(['stop', name]);
    const stop = Date.now() - t1;
    const code = docker(['inspect', '-f', '{{.State.ExitCode}}', name]).trim();
    if (code !== '0') throw new Error(`systemd in ${name} stopped with status ${code}`);
    return { boot, stop };
  } finally {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

async function dindRound(name: string, kernel: string): Promise<number> {
  const volume = `${name}-disks`;
  try {
    const t0 = Date.now();
    docker([
      'run',
      '-d',
      '--name',
      name,
      `--runtime=${RUNTIME}`,
      '-e',
      `RUNCVM_KERNEL=${kernel}`,
      '-m',
      '1g',
      '-v',
      `${volume}:/disks`,
      '-e',
      'RUNCVM_DISKS=/disks/docker,/var/lib/docker,ext4,2G',
      'runcvm-test/dind',
    ]);
    return await until(name, t0, ['docker', 'version', '--format', '{{.Server.Version}}'], (v) => v !== '');
  } finally {
    spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    spawnSync('docker', ['volume', 'rm', '-f', volume], { stdio: 'ignore' });
  }
}

export async function systemBench(): Promise<void> {
  ensureImage('runcvm-test/systemd', 'systemd');
  ensureImage('runcvm-test/dind', 'dind');
  const boot: Record<string, number[]> = {};
  const stop: Record<string, number[]> = {};
  const dind: Record<string, number[]> = {};
  for (let i = 0; i < ROUNDS; i++) {
    // Every kernel in every round: their ratio comes from the same minutes of host load.
    for (const k of KERNELS) {
      const s = await systemdRound(`runcvm-bench-systemd-${process.pid}-${k}-${i}`, k);
      (boot[k] ??= []).push(s.boot);
      (stop[k] ??= []).push(s.stop);
      (dind[k] ??= []).push(await dindRound(`runcvm-bench-dind-${process.pid}-${k}-${i}`, k));
      process.stderr.write(
        `system round ${i + 1}/${ROUNDS}, ${k} kernel: systemd ready ${s.boot} ms, stop ${s.stop} ms; dockerd ready ${dind[k]!.at(-1)} ms\n`,
      );
    }
  }
  const [a, b] = KERNELS;
  const ratio = (xs: Record<string, number[]>) => (median(xs[a]!) / median(xs[b]!)).toFixed(2);
  console.log(
    `systemd (runcvm-test/systemd, /sbin/init) and Docker-in-Docker (runcvm-test/dind), ${ROUNDS} rounds, medians`,
  );
  for (const k of KERNELS)
    console.log(
      `  ${k.padEnd(6)} kernel: systemd ready ${String(median(boot[k]!)).padStart(6)} ms   systemd stop ${String(median(stop[k]!)).padStart(6)} ms   dockerd ready ${String(median(dind[k]!)).padStart(6)} ms`,
    );
  console.log(
    `  ${a}/${b}: systemd ready ${ratio(boot)}x   systemd stop ${ratio(stop)}x   dockerd ready ${ratio(dind)}x`,
  );
}
