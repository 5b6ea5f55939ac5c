/**
 * Kubernetes pods as one VM per pod (docs/engines.md, "Kubernetes"), through containerd's CRI API
 * as the kubelet drives it: a private containerd with its CRI plugin and CNI bridge networking
 * (containerd.ts), real VMs. The pod sandbox is the VM and owns the pod IP; the app, init and
 * sidecar containers run inside it, each with its own root, and share its localhost.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_REF, type Containerd, startContainerd } from './containerd.ts';
import {
  attachUrl,
  Cri,
  containerStats,
  containerStatus,
  createContainer,
  execSync,
  execUrl,
  type PodSpec,
  podIp,
  portForwardUrl,
  removeContainer,
  removePod,
  runPodSandbox,
  startContainer,
  stopContainer,
  updateContainerResources,
} from './cri.ts';
import { run } from './docker.ts';
import { processesOfCgroup, untilNoNode } from './resident.ts';

const HOST_KERNEL = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
const RUNNING = 1;
const EXITED = 2;

async function waitState(cri: Cri, id: string, state: number, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await containerStatus(cri, id);
    if (s.state === state) return s;
    if (Date.now() > deadline) throw new Error(`container ${id}: state ${s.state}, waited for ${state}`);
    await sleep(300);
  }
}

/** ExecSync, retried while the container's process is still being started in the VM. */
async function execOk(cri: Cri, id: string, cmd: string[], want = 0) {
  let e = { stdout: '', stderr: '', exitCode: -1 };
  for (let i = 0; i < 60; i++) {
    e = await execSync(cri, id, cmd);
    if (e.exitCode === want) return e;
    await sleep(500);
  }
  assert.equal(e.exitCode, want, `exec ${cmd.join(' ')}: ${e.stdout}${e.stderr}`);
  return e;
}

/** A private containerd and its CRI client for the enclosing describe block, stopped after it. */
function privateContainerd(name: string): { c: Containerd; cri: Cri } {
  const env = {} as { c: Containerd; cri: Cri };
  before(async () => {
    env.c = await startContainerd(name);
    env.cri = new Cri(env.c.address);
  });
  after(async () => {
    await env.c?.stop();
  });
  return env;
}

const STREAM_CLIENT = new URL('./cri-stream-client.ts', import.meta.url).pathname;

/** The streaming client (cri-stream-client.ts) in containerd's netns, where the streaming server listens. */
function streamClient(c: Containerd, args: string[], input = '') {
  const node = [process.execPath, '--experimental-websocket', '--no-warnings', '--import', 'tsx'];
  return run('nsenter', ['-t', String(c.pid), '-n', ...node, STREAM_CLIENT, ...args], { input, timeoutMs: 150_000 });
}

/** A CRI PortForward stream to PORT of the pod, as kubectl port-forward makes one: the request's
 * bytes in, what the pod answered out. */
async function portForward(c: Containerd, cri: Cri, sandbox: string, port: number, request: string) {
  const url = await portForwardUrl(cri, sandbox, port);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/portforward\//);
  return streamClient(c, ['portforward', url, String(port)], request);
}

/** Lines of `ps` naming this pod's sandbox (its launcher, QEMU, virtiofsd). */
async function podProcesses(sandbox: string): Promise<string[]> {
  const r = await run('ps', ['-eo', 'pid=,args=']);
  return r.stdout.split('\n').filter((l) => l.includes(sandbox) || l.includes('runcvm-pod'));
}

describe('pods: one VM per pod under CRI', { timeout: 1_500_000 }, () => {
  const env = privateContainerd('pods');

  test('a pod VM: init container first, server and sidecar share localhost, the pod IP reaches the server, restart, memory limit, nothing left behind', async (ctx) => {
    const { c, cri } = env;
    const pod: PodSpec = {
      name: 'web',
      uid: `uid-pods-${process.pid}`,
      namespace: 'default',
      logDirectory: `${c.dir}/pod-logs`,
    };
    const data = `${c.dir}/pod-data`;
    mkdirSync(data, { recursive: true });
    writeFileSync(`${data}/.keep`, '');
    const bundles = `${c.dir}/state/io.containerd.runtime.v2.task/k8s.io`;
    const sandbox = await runPodSandbox(cri, pod, 'runcvm');
    const ids: string[] = [];
    try {
      assert.ok(existsSync(`${bundles}/${sandbox}/runcvm/spec.json`), 'the pod sandbox is not a VM');
      const ip = await podIp(cri, sandbox);
      assert.match(ip, /^10\.203\.0\.\d+$/);

      // An init container runs to completion first (the kubelet's order): it writes the page.
      const mounts = [{ containerPath: '/data', hostPath: data }];
      const init = await createContainer(
        cri,
        sandbox,
        pod,
        'init',
        BUSYBOX_REF,
        ['sh', '-c', 'echo hello-from-$(hostname)-init > /data/index.html; uname -r > /data/kernel'],
        { mounts },
      );
      ids.push(init);
      await startContainer(cri, init);
      assert.ok(existsSync(`${bundles}/${init}/runcvm/pod-container.json`), 'the container is not in the pod VM');
      assert.ok(!existsSync(`${bundles}/${init}/runcvm/spec.json`), 'the container got a VM of its own');
      const initDone = await waitState(cri, init, EXITED);
      assert.equal(initDone.exitCode, 0);
      const guestKernel = readFileSync(`${data}/kernel`, 'utf8').trim();
      assert.notEqual(guestKernel, HOST_KERNEL);
      assert.match(readFileSync(`${data}/index.html`, 'utf8'), /^hello-from-web-init$/m);
      await removeContainer(cri, init);

      const web = await createContainer(
        cri,
        sandbox,
        pod,
        'web',
        BUSYBOX_REF,
        ['sh', '-c', 'echo web-started; mkdir -p /www; echo only-in-web > /www/marker; exec httpd -f -p 8080 -h /data'],
        { mounts, pidMode: 1 },
      );
      ids.push(web);
      await startContainer(cri, web);
      // A CPU limit (the kubelet's resources.limits.cpu: 500m) is cpu.max of its guest cgroup.
      const side = await createContainer(
        cri,
        sandbox,
        pod,
        'side',
        BUSYBOX_REF,
        ['sh', '-c', 'echo side-started; exec sleep 100000'],
        // requests.cpu 500m: shares 512, cpu.weight 20 by runc's conversion.
        { cpuQuota: 50_000, cpuPeriod: 100_000, cpuShares: 512 },
      );
      ids.push(side);
      await startContainer(cri, side);
      assert.equal((await waitState(cri, web, RUNNING)).state, RUNNING);

      // The node (containerd's network namespace, where the CNI bridge is) reaches the pod IP.
      let page = '';
      for (let i = 0; i < 120 && !page.includes('hello-from'); i++) {
        const r = await run('nsenter', [
          '-t',
          String(c.pid),
          '-n',
          'curl',
          '-s',
          '-m',
          '5',
          `http://${ip}:8080/index.html`,
        ]);
        page = r.stdout;
        if (!page.includes('hello-from')) await sleep(1000);
      }
      assert.match(page, /hello-from-web-init/, 'the pod IP did not reach the server');

      // PortForward (kubectl port-forward): containerd dials localhost:8080 in the pod's netns on
      // the host; the pod VM relays it to the guest's localhost. Twice: one stream per connection.
      for (const _ of [0, 1]) {
        const pf = await portForward(c, cri, sandbox, 8080, 'GET /index.html HTTP/1.0\r\n\r\n');
        assert.equal(pf.code, 0, pf.stderr);
        assert.match(pf.stdout, /^HTTP\/1\.[01] 200 OK/);
        assert.match(pf.stdout, /hello-from-web-init/, `PortForward did not reach the server: ${pf.stderr}`);
      }
      // The pod VM's data plane is runcvm-supervisor's: no Node process stays resident for it
      // (issue 15), PortForward above went through the supervisor's relay.
      assert.deepEqual(await untilNoNode(() => processesOfCgroup(sandbox)), [], 'a Node process stays in the pod VM');
      // A port nothing listens on in the guest: the stream ends at once, empty (not hung).
      const closed = await portForward(c, cri, sandbox, 8099, 'GET / HTTP/1.0\r\n\r\n');
      assert.equal(closed.code, 0, closed.stderr);
      assert.equal(closed.stdout, '');

      // The sidecar reaches it on 127.0.0.1: one network namespace, the guest's.
      const local = await execOk(cri, side, [
        'sh',
        '-c',
        'printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 8080',
      ]);
      assert.match(local.stdout, /hello-from-web-init/);
      // ExecSync in each container: one guest kernel, each with its own root.
      const inWeb = await execOk(cri, web, ['sh', '-c', 'uname -r; cat /www/marker; ip -o -4 addr show eth0']);
      const [kernelWeb, marker, eth0] = inWeb.stdout.trim().split('\n');
      assert.equal(kernelWeb, guestKernel);
      assert.equal(marker, 'only-in-web');
      assert.match(eth0 ?? '', new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));
      const inSide = await execOk(cri, side, ['sh', '-c', 'uname -r; test -e /www && echo leaked; exit 4'], 4);
      assert.equal(inSide.stdout.trim(), guestKernel, "the sidecar sees the web container's root");
      assert.equal((await execOk(cri, side, ['cat', '/sys/fs/cgroup/cpu.max'])).stdout.trim(), '50000 100000');
      assert.equal((await execOk(cri, web, ['cat', '/sys/fs/cgroup/cpu.max'])).stdout.trim(), 'max 100000');
      // CPU requests (cpu.shares) are cpu.weight of the guest cgroup, converted as runc converts them
      // for the client's host cgroup; a container without shares keeps the kernel's 100.
      const sideWeight = (await execOk(cri, side, ['cat', '/sys/fs/cgroup/cpu.weight'])).stdout.trim();
      assert.equal(sideWeight, '20');
      if (HOST_CGROUP_V2)
        assert.equal(sideWeight, hostCgroupFile(side, 'cpu', 'cpu.weight'), "the guest's weight is not runc's");
      else
        ctx.diagnostic(
          `cgroup v1 host: the client's cpu.shares ${hostCgroupFile(side, 'cpu', 'cpu.shares')}, the guest's weight checked against runc's formula only`,
        );
      assert.equal((await execOk(cri, web, ['cat', '/sys/fs/cgroup/cpu.weight'])).stdout.trim(), '100');

      // UpdateContainerResources (the kubelet's in-place resize) changes the guest cgroup of the
      // running container; its exec client's host memory limit stays what create gave it.
      const hostMemoryFile = HOST_CGROUP_V2 ? 'memory.max' : 'memory.limit_in_bytes';
      const hostMemoryBefore = hostCgroupFile(side, 'memory', hostMemoryFile);
      assert.ok(hostMemoryBefore !== undefined, "the client's host cgroup was not found");
      await updateContainerResources(cri, side, {
        cpuPeriod: 100_000,
        cpuQuota: 20_000,
        cpuShares: 1024,
        memoryLimit: 96 * 1024 * 1024,
      });
      const resized = await execOk(cri, side, [
        'cat',
        '/sys/fs/cgroup/cpu.max',
        '/sys/fs/cgroup/cpu.weight',
        '/sys/fs/cgroup/memory.max',
      ]);
      assert.deepEqual(resized.stdout.trim().split('\n'), ['20000 100000', '39', String(96 * 1024 * 1024)]);
      assert.equal(
        hostCgroupFile(side, 'memory', hostMemoryFile),
        hostMemoryBefore,
        "the client's host memory limit changed",
      );

      // ContainerStats reports each container's guest cgroup (runcvm's shim answers Task.Stats from
      // the pod VM), not the host cgroup of its exec client (a few hundred KiB, milliseconds of CPU).
      // A container that fills 64 MiB of its /dev/shm (shmem: charged to it, never inactive_file)
      // and then spins, at the lowest CPU weight (the pod VM's other work goes first under TCG).
      const busy = await createContainer(
        cri,
        sandbox,
        pod,
        'busy',
        BUSYBOX_REF,
        ['sh', '-c', 'head -c 67108864 /dev/zero > /dev/shm/fill && echo filled && while :; do :; done'],
        { cpuShares: 2 },
      );
      ids.push(busy);
      await startContainer(cri, busy);
      const busyLog = `${pod.logDirectory}/busy.log`;
      for (let i = 0; i < 300 && !(existsSync(busyLog) && readFileSync(busyLog, 'utf8').includes('filled')); i++)
        await sleep(500);
      assert.match(readFileSync(busyLog, 'utf8'), /filled/, 'busy did not fill its 64 MiB');
      const busy1 = await containerStats(cri, busy);
      await sleep(3000);
      const busy2 = await containerStats(cri, busy);
      const sideStats = await containerStats(cri, side);
      const webStats = await containerStats(cri, web);
      ctx.diagnostic(
        `ContainerStats: busy ${JSON.stringify(busy1)} then ${JSON.stringify(busy2)}, side ${JSON.stringify(sideStats)}, web ${JSON.stringify(webStats)}`,
      );
      assert.ok(busy1.workingSetBytes > 64 * 1024 * 1024, `busy's working set: ${JSON.stringify(busy1)}`);
      assert.ok(busy2.cpuNs > busy1.cpuNs, `busy's CPU usage did not grow: ${busy1.cpuNs} then ${busy2.cpuNs}`);
      // Each container its own figures: the sidecar (a sleep) is far below busy.
      assert.ok(
        sideStats.workingSetBytes > 0 && sideStats.workingSetBytes < 16 * 1024 * 1024,
        `side's working set: ${JSON.stringify(sideStats)}`,
      );
      assert.ok(sideStats.cpuNs < busy2.cpuNs, `side's CPU: ${sideStats.cpuNs}, busy's: ${busy2.cpuNs}`);
      // They are the guest cgroup's: web's memory.current, read in the container, is near its
      // working set (the exec that reads it adds a little).
      const webGuest = Number((await execOk(cri, web, ['cat', '/sys/fs/cgroup/memory.current'])).stdout.trim());
      assert.ok(
        Math.abs(webGuest - webStats.workingSetBytes) < 8 * 1024 * 1024 && webGuest > 1024 * 1024,
        `web: guest memory.current ${webGuest}, ContainerStats working set ${webStats.workingSetBytes}`,
      );
      // One shim proxy serves the pod (its start ran for the sandbox): its resident memory.
      const proxies = (await podProcesses(sandbox)).filter((l) => l.includes('containerd-shim-runcvm-v2'));
      assert.equal(proxies.length, 1, `the pod's shim proxies: ${proxies.join('; ')}`);
      const proxyPid = (proxies[0] ?? '').trim().split(/\s+/)[0];
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proxyPid}/status`, 'utf8'))?.[1];
      ctx.diagnostic(`the pod's shim proxy (pid ${proxyPid}): VmRSS ${rss} KiB`);
      await stopContainer(cri, busy, 5);
      await removeContainer(cri, busy);

      // tty: true: the container's process runs on a terminal in the guest, its output in the CRI log.
      const tty = await createContainer(
        cri,
        sandbox,
        pod,
        'tty',
        BUSYBOX_REF,
        // `tty` names the terminal: it is the container's own devpts, as runc's console is.
        ['sh', '-c', 'tty; test -t 0 && test -t 1 && echo on-a-tty'],
        { tty: true },
      );
      ids.push(tty);
      await startContainer(cri, tty);
      const ttyExit = (await waitState(cri, tty, EXITED)).exitCode;
      const ttyLog = readFileSync(`${pod.logDirectory}/tty.log`, 'utf8');
      assert.equal(ttyExit, 0, ttyLog);
      assert.match(ttyLog, / stdout [FP] on-a-tty\r?\n/);
      assert.match(ttyLog, / stdout [FP] \/dev\/pts\/\d+\r?\n/);
      await removeContainer(cri, tty);

      // kubectl attach -it to a `tty: true` shell: typed input reaches it, on its own terminal.
      const shell = await createContainer(cri, sandbox, pod, 'shell', BUSYBOX_REF, ['sh'], { tty: true });
      ids.push(shell);
      await startContainer(cri, shell);
      await waitState(cri, shell, RUNNING);
      const attachedTty = await streamClient(
        c,
        ['attach', await attachUrl(cri, shell, { tty: true }), 'attached-5'],
        'tty; echo attached-$((2+3))\n',
      );
      assert.equal(attachedTty.code, 0, `${attachedTty.stdout}${attachedTty.stderr}`);
      assert.match(attachedTty.stdout, /\/dev\/pts\/\d+\r?\n/);
      await stopContainer(cri, shell, 5);
      await removeContainer(cri, shell);

      // kubectl exec -it: the exec's terminal is the container's too, and what is typed reaches it.
      const ttyExec = await streamClient(
        c,
        ['exec', await execUrl(cri, web, ['sh'], { tty: true, stdin: true }), 'typed-3'],
        'tty\necho typed-$((1+2))\nexit\n',
      );
      assert.equal(ttyExec.code, 0, `${ttyExec.stdout}${ttyExec.stderr}`);
      assert.match(ttyExec.stdout, /\r?\n\/dev\/pts\/\d+\r?\n/);

      // Attach (kubectl attach): the streaming server reaches the shim's stdio of the container,
      // which its exec client relays from the guest.
      const ticker = await createContainer(cri, sandbox, pod, 'ticker', BUSYBOX_REF, [
        'sh',
        '-c',
        'i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.3; done',
      ]);
      ids.push(ticker);
      await startContainer(cri, ticker);
      await waitState(cri, ticker, RUNNING);
      const attached = await streamClient(c, ['attach', await attachUrl(cri, ticker), 'tick-']);
      assert.equal(attached.code, 0, attached.stderr);
      assert.match(attached.stdout, /tick-\d+\n/);
      await stopContainer(cri, ticker, 5);
      await removeContainer(cri, ticker);
      // PID namespaces: web has its own (the kubelet's default); the sidecar shares the pod's
      // (shareProcessNamespace), where the sandbox's pause loop runs.
      const psWeb = await execOk(cri, web, ['ps', '-o', 'args']);
      assert.doesNotMatch(psWeb.stdout, /sleep 3600|sleep 100000/);
      assert.match(psWeb.stdout, /httpd -f -p 8080/);
      const psSide = await execOk(cri, side, ['ps', '-o', 'args']);
      assert.match(psSide.stdout, /sleep 3600/);
      assert.match(psSide.stdout, /sleep 100000/);

      // A container that exits is restarted by a new Create/Start in the same pod VM; the
      // others keep running.
      for (const attempt of [0, 1]) {
        const once = await createContainer(cri, sandbox, pod, 'once', BUSYBOX_REF, ['sh', '-c', 'echo run; exit 3'], {
          attempt,
        });
        ids.push(once);
        await startContainer(cri, once);
        const s = await waitState(cri, once, EXITED);
        assert.equal(s.exitCode, 3);
        assert.match(readFileSync(`${pod.logDirectory}/once${attempt ? '.1' : ''}.log`, 'utf8'), / stdout F run\n/);
        await removeContainer(cri, once);
      }
      assert.equal((await containerStatus(cri, web)).state, RUNNING, 'the server stopped when another container did');

      // A memory limit is the container's own, enforced in the guest: its OOM kill ends it alone.
      const hog = await createContainer(
        cri,
        sandbox,
        pod,
        'hog',
        BUSYBOX_REF,
        ['sh', '-c', 'echo hogging; exec dd if=/dev/zero of=/dev/null bs=160M count=1'],
        { memoryLimit: 64 * 1024 * 1024 },
      );
      ids.push(hog);
      await startContainer(cri, hog);
      const h = await waitState(cri, hog, EXITED);
      assert.equal(h.exitCode, 137, 'dd over the memory limit was not OOM-killed');
      // containerd's own reason: the shim saw an OOM kill in the container's host cgroup, where
      // the client ended itself the same way (runcvm-exec, EXEC_OOM_ENV).
      assert.equal(h.reason, 'OOMKilled');
      assert.match(readFileSync(`${pod.logDirectory}/hog.log`, 'utf8'), / stdout F hogging\n/);
      assert.match(readFileSync(`${pod.logDirectory}/hog.log`, 'utf8'), /OOMKilled/);
      await removeContainer(cri, hog);
      assert.equal((await containerStatus(cri, web)).state, RUNNING, 'the OOM kill reached the server');
      const again = await execOk(cri, side, [
        'sh',
        '-c',
        'printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 8080',
      ]);
      assert.match(again.stdout, /hello-from-web-init/);
      const log = readFileSync(`${pod.logDirectory}/web.log`, 'utf8');
      assert.match(log, / stdout F web-started\n/);

      // StopContainer: the kubelet's SIGTERM reaches the container's process in the guest.
      const term = await createContainer(cri, sandbox, pod, 'term', BUSYBOX_REF, [
        'sh',
        '-c',
        'trap "echo got-term; exit 42" TERM; echo waiting; while :; do sleep 1; done',
      ]);
      ids.push(term);
      await startContainer(cri, term);
      for (let i = 0; i < 600 && !readFileSync(`${pod.logDirectory}/term.log`, 'utf8').includes(' waiting\n'); i++)
        await sleep(200);
      await stopContainer(cri, term, 30);
      const t = await waitState(cri, term, EXITED);
      assert.equal(t.exitCode, 42, 'SIGTERM did not reach the guest process');
      assert.match(readFileSync(`${pod.logDirectory}/term.log`, 'utf8'), / stdout F got-term\n/);
      await removeContainer(cri, term);
    } finally {
      await removePod(cri, sandbox);
    }
    // Stop and remove leave nothing: no task, no VM process, no mount of the pod share, no marker.
    assert.deepEqual(readdirSync(bundles), [], 'tasks left after StopPodSandbox/RemovePodSandbox');
    assert.deepEqual(await podProcesses(sandbox), []);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      // This containerd's only: another private containerd (a bench run) may hold pods of its own.
      .filter((l) => (l.includes('runcvm-pod') && l.includes(c.dir)) || ids.some((id) => l.includes(id)));
    assert.deepEqual(mounts, [], 'mounts left behind');
    for (const id of [sandbox, ...ids]) assert.ok(!existsSync(`/run/runcvm/pod/${id}`), `marker of ${id} left`);
  });
});

const HOST_CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/**
 * A file of the host cgroup of a container's runc container (its exec client's), if there is
 * one: under the controller's hierarchy on a cgroup v1 host.
 */
function hostCgroupFile(id: string, controller: string, file: string): string | undefined {
  const walk = (dir: string, depth: number): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (e.name.includes(id)) return `${dir}/${e.name}`;
      if (depth > 0) {
        const found = walk(`${dir}/${e.name}`, depth - 1);
        if (found) return found;
      }
    }
    return undefined;
  };
  const base = HOST_CGROUP_V2 ? '/sys/fs/cgroup' : `/sys/fs/cgroup/${controller}`;
  const dir = existsSync(base) ? walk(base, 4) : undefined;
  if (!dir || !existsSync(`${dir}/${file}`)) return undefined;
  return readFileSync(`${dir}/${file}`, 'utf8').trim();
}

/** Pids whose cgroup names this container id and whose command line is the VMM's. */
function vmmPids(id: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id)) continue;
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0]?.includes('qemu-system')) out.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('pods: the pod VM dies', { timeout: 900_000 }, () => {
  const env = privateContainerd('podvm-dies');

  test("killing the pod VM's QEMU: its containers are reported exited, stop and remove of the pod complete, nothing left", async (t) => {
    const { c, cri } = env;
    const pod: PodSpec = {
      name: 'doomed',
      uid: `uid-podvm-dies-${process.pid}`,
      namespace: 'default',
      logDirectory: `${c.dir}/pod-logs`,
    };
    const bundles = `${c.dir}/state/io.containerd.runtime.v2.task/k8s.io`;
    const sandbox = await runPodSandbox(cri, pod, 'runcvm');
    const ids: string[] = [];
    let removed = false;
    try {
      for (const name of ['a', 'b']) {
        const id = await createContainer(cri, sandbox, pod, name, BUSYBOX_REF, [
          'sh',
          '-c',
          'echo up; exec sleep 100000',
        ]);
        ids.push(id);
        await startContainer(cri, id);
      }
      for (const id of ids) await execOk(cri, id, ['true']);
      const qemu = vmmPids(sandbox);
      assert.equal(qemu.length, 1, `one QEMU for the pod, found ${qemu.join(',')}`);
      assert.deepEqual(await untilNoNode(() => processesOfCgroup(sandbox)), [], 'a Node process stays in the pod VM');
      // The pod VM has no stdio under CRI: why it stopped goes to its pod log, which containerd
      // removes with the sandbox's task soon after: read it as it is written.
      const podLog = `${bundles}/${sandbox}/runcvm-pod/log/launcher.log`;
      assert.ok(existsSync(podLog), `no pod log at ${podLog}`);
      let said = '';
      const watching = (async () => {
        for (const end = Date.now() + 120_000; Date.now() < end && !/the VM stopped/.test(said); ) {
          try {
            said = readFileSync(podLog, 'utf8');
          } catch {
            break; // removed: what was read last is what there was
          }
          await sleep(50);
        }
      })();
      process.kill(qemu[0] as number, 'SIGKILL');
      for (const id of ids) {
        const s = await waitState(cri, id, EXITED, 120_000);
        assert.notEqual(s.exitCode, 0, `container ${id} exited 0 with its VM gone`);
        t.diagnostic(`container ${id.slice(0, 12)}: exit code ${s.exitCode}, reason ${s.reason}`);
      }
      await watching;
      assert.match(
        said,
        /the VM stopped before the workload finished \(qemu (signal 9|SIGKILL)/,
        `the pod log:\n${said}`,
      );
      // ContainerStats with the pod VM gone: an answer or an error, never a hang (runcvm's shim
      // bounds its question to the pod VM).
      const statsAt = Date.now();
      const dead = await containerStats(cri, ids[0] as string).then(
        (r) => JSON.stringify(r),
        (e: Error) => `error: ${e.message}`,
      );
      assert.ok(Date.now() - statsAt < 15_000, `ContainerStats took ${Date.now() - statsAt} ms`);
      t.diagnostic(`ContainerStats with the pod VM gone (${Date.now() - statsAt} ms): ${dead}`);
      const t0 = Date.now();
      // Each call has its own deadline: a hang fails the test instead of stalling it.
      await cri.call('StopPodSandbox', [[1, sandbox]], 120_000);
      for (const id of ids) await removeContainer(cri, id);
      await cri.call('RemovePodSandbox', [[1, sandbox]], 120_000);
      removed = true;
      t.diagnostic(`StopPodSandbox, RemoveContainer x2, RemovePodSandbox: ${Date.now() - t0} ms`);
    } finally {
      if (!removed) await removePod(cri, sandbox).catch(() => undefined);
    }
    assert.deepEqual(readdirSync(bundles), [], 'tasks left after StopPodSandbox/RemovePodSandbox');
    assert.deepEqual(await podProcesses(sandbox), []);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      // This containerd's only: another private containerd (a bench run) may hold pods of its own.
      .filter((l) => (l.includes('runcvm-pod') && l.includes(c.dir)) || ids.some((id) => l.includes(id)));
    assert.deepEqual(mounts, [], 'mounts left behind');
    for (const id of [sandbox, ...ids]) assert.ok(!existsSync(`/run/runcvm/pod/${id}`), `marker of ${id} left`);
  });
});
