/**
 * Which host processes a running container keeps (issue 15: no Node process per container once
 * it runs): read from /proc, the same on main and on any branch, so a check fails where the Node
 * launcher stays resident.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
}

/** pid and every process below it, as "pid comm". */
export function processTree(pid: number): string[] {
  const out: string[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 10_000) {
    const p = todo.pop() as number;
    const comm = read(`/proc/${p}/comm`).trim();
    if (!comm) continue;
    out.push(`${p} ${comm}`);
    for (const t of readdirSync(`/proc/${p}/task`, { withFileTypes: true }).map((d) => d.name))
      todo.push(...read(`/proc/${p}/task/${t}/children`).trim().split(/\s+/).filter(Boolean).map(Number));
  }
  return out;
}

/** Processes whose cgroup path names id (a CRI sandbox's), as "pid comm". */
export function processesOfCgroup(id: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && read(`/proc/${p}/cgroup`).includes(id))
    .map((p) => `${p} ${read(`/proc/${p}/comm`).trim()}`);
}

/**
 * Waits until none of what list() returns is a Node process (the launcher hands over once the VM
 * runs: seconds under TCG); returns the list then, or the last one with its Node processes.
 */
export async function untilNoNode(list: () => string[], timeoutMs = 120_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const l = list();
    const node = l.filter((x) => x.endsWith(' node'));
    if (node.length === 0 || Date.now() > end) return node.length === 0 ? [] : l;
    await sleep(500);
  }
}
