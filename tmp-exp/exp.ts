import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_REF, startContainerd } from '../test/e2e/containerd.ts';
import { Cri, type PodSpec, runPodSandbox, createContainer, startContainer, containerStats, removePod, removeContainer, stopContainer } from '../test/e2e/cri.ts';
import { run } from '../test/e2e/docker.ts';

const c = await startContainerd('shimexp');
const cri = new Cri(c.address);
const pod: PodSpec = { name: 'exp', uid: `uid-exp-${process.pid}`, namespace: 'default', logDirectory: `${c.dir}/pod-logs` };
const bundles = `${c.dir}/state/io.containerd.runtime.v2.task/k8s.io`;
let sandbox = '';
try {
  sandbox = await runPodSandbox(cri, pod, 'runcvm');
  for (const b of readdirSync(bundles)) console.log(b, readFileSync(`${bundles}/${b}/shim-binary-path`, 'utf8'), readFileSync(`${bundles}/${b}/address`, 'utf8'));
  console.log((await run('ps', ['-eo', 'pid,rss,args'])).stdout.split('\n').filter((l) => l.includes('shim')).join('\n'));
  const id = await createContainer(cri, sandbox, pod, 'busy', BUSYBOX_REF, ['sh', '-c', process.argv[2] ?? 'echo go; head -c 67108864 /dev/zero > /dev/shm/fill; echo filled; while :; do :; done']);
  await startContainer(cri, id);
  for (let i = 0; i < 60; i++) {
    const log = `${pod.logDirectory}/busy.log`;
    const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
    console.log(i, JSON.stringify(t.slice(-200)));
    if (t.includes('filled')) break;
    await sleep(1000);
  }
  for (let i = 0; i < 3; i++) {
    try { console.log('stats', JSON.stringify(await containerStats(cri, id))); } catch (e) { console.log('stats error', e); }
    await sleep(2000);
  }
  console.log((await run('ps', ['-eo', 'pid,rss,args'])).stdout.split('\n').filter((l) => l.includes('shim')).join('\n'));
  await stopContainer(cri, id, 2);
  await removeContainer(cri, id);
} finally {
  if (sandbox) await removePod(cri, sandbox).catch((e) => console.log('removePod', e));
  console.log(readFileSync(`${c.dir}/containerd.log`, 'utf8').slice(-3000));
  await c.stop();
}
