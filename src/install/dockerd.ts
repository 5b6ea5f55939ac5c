/** Telling a running dockerd to reload daemon.json (SIGHUP) and checking what it registered. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function dockerdPid(): number | undefined {
  for (const f of ['/var/run/docker.pid', '/run/docker.pid']) {
    try {
      const pid = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
      if (pid > 0) {
        process.kill(pid, 0);
        return pid;
      }
    } catch {
      // Not there or stale: try the next place.
    }
  }
  return undefined;
}

export function dockerRuntimes(): string[] | undefined {
  try {
    const out = execFileSync('docker', ['info', '--format', '{{json .Runtimes}}'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Object.keys(JSON.parse(out) as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

/** Reloads dockerd and waits until `docker info` shows (or no longer shows) the runtime. */
export async function reloadDockerd(runtime: string, expectPresent: boolean): Promise<string> {
  const pid = dockerdPid();
  if (pid === undefined) return 'dockerd is not running: it will read daemon.json when it starts';
  process.kill(pid, 'SIGHUP');
  for (let i = 0; i < 50; i++) {
    const runtimes = dockerRuntimes();
    if (runtimes && runtimes.includes(runtime) === expectPresent) {
      return `dockerd (pid ${pid}) reloaded; docker info lists runtimes: ${runtimes.join(' ')}`;
    }
    await sleep(100);
  }
  throw new Error(
    `dockerd (pid ${pid}) was reloaded but docker info ${expectPresent ? 'does not list' : 'still lists'} runtime ${runtime}`,
  );
}
