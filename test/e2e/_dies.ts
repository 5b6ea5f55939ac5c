import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_REF, startContainerd } from './containerd.ts';
import { Cri, containerStatus, createContainer, execSync, removePod, runPodSandbox, startContainer } from './cri.ts';
import { run } from './docker.ts';

function vmmPids(id: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id)) continue;
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]?.includes('qemu-system')) out.push(Number(p));
    } catch {}
  }
  return out;
}
const c = await startContainerd('dies-dbg');
const cri = new Cri(c.address);
const pod = { name: 'd', uid: 'uid-dies-dbg', namespace: 'default', logDirectory: `${c.dir}/pod-logs` };
for (let round = 0; round < 12; round++) {
  const sandbox = await runPodSandbox(cri, pod, 'runcvm');
  const ids: string[] = [];
  for (const name of ['a', 'b']) {
    const id = await createContainer(cri, sandbox, pod, name, BUSYBOX_REF, ['sh', '-c', 'echo up; exec sleep 100000']);
    ids.push(id);
    await startContainer(cri, id);
  }
  for (const id of ids)
    for (let i = 0; i < 60 && (await execSync(cri, id, ['true'])).exitCode !== 0; i++) await sleep(500);
  process.kill(vmmPids(sandbox)[0] as number, 'SIGKILL');
  await sleep(8000);
  const st = await Promise.all(ids.map((id) => containerStatus(cri, id)));
  console.log('round', round, st);
  if (st.some((s) => s.state !== 2)) {
    console.log(
      (await run('sh', ['-c', `ps -eo pid,ppid,stat,args | grep -E "runcvm|shim|qemu" | grep -v grep`])).stdout,
    );
    console.log((await run('ctr', ['--address', c.address, '-n', 'k8s.io', 'task', 'ls'])).stdout);
    for (const f of ['a', 'b'])
      try {
        console.log(f, readFileSync(`${pod.logDirectory}/${f}.log`, 'utf8'));
      } catch {}
    console.log(readFileSync(`${c.dir}/containerd.log`, 'utf8').split('\n').slice(-30).join('\n'));
    break;
  }
  await removePod(cri, sandbox);
}
await c.stop().catch(() => {});
