/**
 * runcvm under engines other than Docker: containerd directly (ctr, --runc-binary), containerd's
 * CRI plugin with runcvm as a runtime handler (runc shim + BinaryName, what a Kubernetes
 * RuntimeClass selects), Podman (--runtime) and a single-node Docker Swarm with runcvm as the
 * default runtime. Real CLIs, real VMs; docs/engines.md says what each shows.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUSYBOX_REF, type Containerd, RUNTIME_BINARY, startContainerd } from './containerd.ts';
import { Cri, containerStatus, createContainer, execSync, removePod, runPodSandbox, startContainer } from './cri.ts';
import { BUSYBOX, PREFIX, run } from './docker.ts';

const HOST_KERNEL = release();

describe('containerd', { timeout: 900_000 }, () => {
  let c: Containerd;
  before(async () => {
    c = await startContainerd('engines');
  });
  after(async () => {
    await c?.stop();
  });

  test('runcvm doctor sees the CRI handler install wrote into this containerd config', async () => {
    const r = await run(`${PREFIX}/bin/runcvm`, ['doctor', '--containerd-config', `${c.dir}/config.toml`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^OK +containerd +configured: CRI runtime handler "runcvm" in ${c.dir}/config.toml \\(a containerd runs with this config`,
        'm',
      ),
    );
    assert.match(r.stdout, /^OK +docker +configured: runtime "runcvm/m);
  });

  test('ctr run --runc-binary runcvm-runtime: a VM with separate streams and the exit status', async () => {
    const r = await c.ctr([
      'run',
      '--rm',
      '--runc-binary',
      RUNTIME_BINARY,
      BUSYBOX_REF,
      'ctr-run',
      'sh',
      '-c',
      'uname -r; echo err >&2; exit 7',
    ]);
    assert.equal(r.code, 7, r.stderr);
    const kernel = r.stdout.trim();
    assert.match(kernel, /^\d+\.\d+/);
    assert.notEqual(kernel, HOST_KERNEL, 'the workload ran on the host kernel');
    assert.equal(r.stderr, 'err\n');
  });

  test('ctr: task exec (status, streams) and task kill (signal reaches the guest workload)', async () => {
    const id = 'ctr-exec';
    const script = 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 1; done';
    const running = c.ctr(['run', '--rm', '--runc-binary', RUNTIME_BINARY, BUSYBOX_REF, id, 'sh', '-c', script], {
      timeoutMs: 300_000,
    });
    let exec = { code: -1, stdout: '', stderr: '' };
    for (let i = 0; i < 120; i++) {
      exec = await c.ctr(['task', 'exec', '--exec-id', `e${i}`, id, 'sh', '-c', 'uname -r; echo oops >&2; exit 5']);
      if (exec.code === 5) break;
      await sleep(500);
    }
    assert.equal(exec.code, 5, `exec never ran: ${exec.stderr}`);
    assert.notEqual(exec.stdout.trim(), HOST_KERNEL);
    assert.equal(exec.stderr, 'oops\n');
    const k = await c.ctr(['task', 'kill', '--signal', 'SIGTERM', id]);
    assert.equal(k.code, 0, k.stderr);
    const r = await running;
    assert.equal(r.code, 42, r.stderr);
    assert.equal(r.stdout, 'ready\ngot-term\n');
  });

  test('CRI (Kubernetes path): runtime handler runcvm via BinaryName; the sandbox is the pod VM, the container runs in it', async () => {
    const cri = new Cri(c.address);
    const pod = { name: 'web', uid: `uid-${process.pid}`, namespace: 'default', logDirectory: `${c.dir}/pod-logs` };
    const sandbox = await runPodSandbox(cri, pod, 'runcvm');
    try {
      const bundles = `${c.dir}/state/io.containerd.runtime.v2.task/k8s.io`;
      // The pause container is the pod VM (docs/engines.md, "Kubernetes"; test/e2e/pods.test.ts).
      assert.ok(existsSync(`${bundles}/${sandbox}/runcvm/spec.json`), 'the sandbox is not a VM');
      const id = await createContainer(cri, sandbox, pod, 'app', BUSYBOX_REF, [
        'sh',
        '-c',
        'echo app-started; uname -r; exec sleep 600',
      ]);
      await startContainer(cri, id);
      assert.ok(existsSync(`${bundles}/${id}/runcvm/pod-container.json`), 'the pod container is not in the pod VM');
      assert.equal((await containerStatus(cri, id)).state, 1);
      let e = { stdout: '', stderr: '', exitCode: -1 };
      for (let i = 0; i < 60; i++) {
        e = await execSync(cri, id, ['sh', '-c', 'uname -r; ip -o -4 addr show eth0 | grep -c inet; exit 3']);
        if (e.exitCode === 3) break;
        await sleep(500);
      }
      assert.equal(e.exitCode, 3, e.stderr);
      const [kernel, eth0] = e.stdout.trim().split('\n');
      assert.notEqual(kernel, HOST_KERNEL);
      assert.equal(eth0, '1');
      const log = readFileSync(`${pod.logDirectory}/app.log`, 'utf8');
      assert.match(log, / stdout F app-started\n/);
    } finally {
      await removePod(cri, sandbox);
    }
    const left = readdirSync(`${c.dir}/state/io.containerd.runtime.v2.task/k8s.io`);
    assert.deepEqual(left, [], 'tasks left after StopPodSandbox/RemovePodSandbox');
  });
});

/**
 * Podman reads runtimes from containers.conf; the test uses the snippet `runcvm podman-config`
 * prints, in a private file (CONTAINERS_CONF), plus lower default ulimits: Podman asks for
 * RLIMIT_NOFILE 1048576 and a high RLIMIT_NPROC, which runc cannot set on this machine (no
 * CAP_SYS_RESOURCE in its bounding set; plain runc fails the same way).
 */
describe('podman', { timeout: 600_000 }, () => {
  const conf = `/tmp/runcvm-e2e-podman-${process.pid}.conf`;
  const podman = (args: string[], opts?: { timeoutMs?: number }) =>
    run('env', [`CONTAINERS_CONF=${conf}`, 'podman', ...args], opts);
  before(async () => {
    const snippet = await run(`${PREFIX}/bin/runcvm`, ['podman-config']);
    assert.equal(snippet.code, 0, snippet.stderr);
    writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n\n${snippet.stdout}`);
    const tar = `/tmp/runcvm-e2e-podman-${process.pid}.tar`;
    assert.equal((await run('docker', ['save', '-o', tar, 'runcvm-test/busybox'])).code, 0);
    const l = await podman(['load', '-i', tar]);
    rmSync(tar, { force: true });
    assert.equal(l.code, 0, l.stderr);
  });
  after(() => rmSync(conf, { force: true }));

  test('podman run --runtime runcvm: a VM, separate streams, exit status', async () => {
    const r = await podman([
      'run',
      '--rm',
      '--network',
      'none',
      '--runtime',
      'runcvm',
      'runcvm-test/busybox',
      'sh',
      '-c',
      'uname -r; echo err >&2; exit 7',
    ]);
    assert.equal(r.code, 7, r.stderr);
    assert.notEqual(r.stdout.trim(), HOST_KERNEL);
    assert.match(r.stderr, /^err\n/);
  });

  test("podman's own network namespace is handed to the VM: -p reaches a server in the guest", async () => {
    const d = await podman([
      'run',
      '-d',
      '--runtime',
      'runcvm',
      '-p',
      '127.0.0.1:18095:80',
      'runcvm-test/busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/etc',
    ]);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    try {
      let body = '';
      for (let i = 0; i < 120 && !body; i++) {
        const r = await run('curl', ['-s', '--max-time', '3', 'http://127.0.0.1:18095/hostname']);
        body = r.code === 0 ? r.stdout : '';
        if (!body) await sleep(500);
      }
      assert.ok(body.trim().length > 0, 'the guest answered through the published port');
      const ip = await podman(['exec', id, 'ip', '-o', '-4', 'addr', 'show', 'eth0']);
      assert.doesNotMatch(ip.stdout, /10\.0\.2\.15/, "the guest has the container's address, not the user-mode one");
    } finally {
      await podman(['rm', '-f', id]);
    }
  });

  test('podman exec (status, -u, -w, -e) and podman stop (SIGTERM to the guest workload, its exit status)', async () => {
    const script = 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 1; done';
    const d = await podman([
      'run',
      '-d',
      '--network',
      'none',
      '--runtime',
      'runcvm',
      'runcvm-test/busybox',
      'sh',
      '-c',
      script,
    ]);
    assert.equal(d.code, 0, d.stderr);
    const id = d.stdout.trim();
    try {
      let e = { code: -1, stdout: '', stderr: '' };
      for (let i = 0; i < 60 && e.code !== 5; i++) {
        e = await podman(['exec', id, 'sh', '-c', 'uname -r; exit 5']);
        if (e.code !== 5) await sleep(500);
      }
      assert.equal(e.code, 5, e.stderr);
      assert.notEqual(e.stdout.trim(), HOST_KERNEL);
      const u = await podman([
        'exec',
        '-u',
        '1000:1000',
        '-w',
        '/tmp',
        '-e',
        'FOO=bar',
        id,
        'sh',
        '-c',
        'echo $(id -u) $(pwd) $FOO',
      ]);
      assert.equal(u.stdout, '1000 /tmp bar\n', u.stderr);
      const s = await podman(['stop', '-t', '20', id]);
      assert.equal(s.code, 0, s.stderr);
      assert.equal((await podman(['inspect', '-f', '{{.State.ExitCode}}', id])).stdout.trim(), '42');
      assert.equal((await podman(['logs', id])).stdout, 'ready\ngot-term\n');
    } finally {
      await podman(['rm', '-f', id]);
    }
  });
});

/**
 * Docker Swarm on this single node with runcvm as dockerd's default-runtime. Changing the default
 * runtime needs a dockerd restart (SIGHUP does not apply it), which stops every running container
 * on the host: done once before and once after, and daemon.json is restored byte for byte.
 */
const SWARM = process.env.RUNCVM_E2E_SWARM === '1';
describe('docker swarm (runcvm as default-runtime)', {
  timeout: 900_000,
  skip: SWARM ? false : 'restarts dockerd twice (stops every container on the host): run with RUNCVM_E2E_SWARM=1',
}, () => {
  const DAEMON_JSON = '/etc/docker/daemon.json';
  let original: string | undefined;
  const service = `runcvm-e2e-web-${process.pid}`;
  const port = 18000 + (process.pid % 1000);
  // Different from the target port, so Docker's in-netns REDIRECT (and our mirror) is exercised.
  const published = port + 1000;

  async function restartDockerd(): Promise<void> {
    const pid = Number.parseInt(readFileSync('/var/run/docker.pid', 'utf8'), 10);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 600; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
    const r = await run('bash', [new URL('../../scripts/start-dockerd.sh', import.meta.url).pathname], {
      timeoutMs: 120_000,
    });
    assert.equal(r.code, 0, r.stderr);
  }

  async function tasks(): Promise<string[]> {
    const r = await run('docker', [
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.swarm.service.name=${service}`,
    ]);
    return r.stdout.split('\n').filter(Boolean);
  }

  async function waitForTasks(n: number, exclude: string[] = []): Promise<string[]> {
    for (let i = 0; i < 240; i++) {
      const ids = (await tasks()).filter((id) => !exclude.includes(id));
      if (ids.length >= n) return ids;
      await sleep(1000);
    }
    const ps = await run('docker', ['service', 'ps', '--no-trunc', service]);
    throw new Error(`fewer than ${n} running replicas of ${service}: ${ps.stdout}`);
  }

  before(async () => {
    original = existsSync(DAEMON_JSON) ? readFileSync(DAEMON_JSON, 'utf8') : undefined;
    const cfg = original ? (JSON.parse(original) as Record<string, unknown>) : {};
    writeFileSync(DAEMON_JSON, `${JSON.stringify({ ...cfg, 'default-runtime': 'runcvm' }, null, 2)}\n`);
    await restartDockerd();
    const addr = /src (\S+)/.exec((await run('ip', ['route', 'get', '1.1.1.1'])).stdout)?.[1] ?? '127.0.0.1';
    const init = await run('docker', ['swarm', 'init', '--advertise-addr', addr]);
    assert.equal(init.code, 0, init.stderr);
  });

  after(async () => {
    await run('docker', ['service', 'rm', service]);
    await run('docker', ['swarm', 'leave', '--force']);
    await run('docker', ['network', 'rm', 'docker_gwbridge']);
    if (original === undefined) rmSync(DAEMON_JSON, { force: true });
    else writeFileSync(DAEMON_JSON, original);
    await restartDockerd();
  });

  test('service replicas run in VMs, answer through the routing mesh and are replaced when killed', async (t) => {
    const info = await run('docker', ['info', '--format', '{{.DefaultRuntime}}']);
    assert.equal(info.stdout.trim(), 'runcvm');
    const create = await run(
      'docker',
      [
        'service',
        'create',
        '--detach',
        '--no-resolve-image',
        '--name',
        service,
        '--replicas',
        '2',
        '--publish',
        `${published}:${port}`,
        BUSYBOX,
        'sh',
        '-c',
        `mkdir -p /www && hostname > /www/index.html && exec httpd -f -p ${port} -h /www`,
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(create.code, 0, create.stderr);
    const ids = await waitForTasks(2);
    const hostnames = new Set<string>();
    for (const id of ids) {
      assert.equal((await run('docker', ['inspect', '-f', '{{.HostConfig.Runtime}}', id])).stdout.trim(), 'runcvm');
      const e = await run('docker', ['exec', id, 'sh', '-c', 'uname -r; hostname']);
      assert.equal(e.code, 0, e.stderr);
      const [kernel, host] = e.stdout.trim().split('\n');
      assert.notEqual(kernel, HOST_KERNEL, 'a replica runs on the host kernel');
      hostnames.add(host as string);
    }
    // The routing mesh: IPVS in Docker's ingress sandbox forwards the published port to each
    // task's ingress address, where Docker REDIRECTs it to the target port inside the task netns;
    // the launcher mirrors that rule as a DNAT to the guest (src/network/port-redirects.ts).
    // Asking each replica from the ingress sandbox is exactly that hop.
    const viaMesh = async (id: string): Promise<string | undefined> => {
      const ip = (
        await run('docker', ['inspect', '-f', '{{(index .NetworkSettings.Networks "ingress").IPAddress}}', id])
      ).stdout.trim();
      for (let i = 0; i < 60; i++) {
        const r = await run('nsenter', [
          '--net=/var/run/docker/netns/ingress_sbox',
          'curl',
          '-s',
          '--max-time',
          '3',
          `http://${ip}:${published}/`,
        ]);
        if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
        await sleep(1000);
      }
      return undefined;
    };
    const answers = await Promise.all(ids.map(viaMesh));
    assert.deepEqual(
      [...answers].sort(),
      [...hostnames].sort(),
      'each replica answers on the published port from the ingress sandbox',
    );
    const host = await run('curl', ['-s', '--max-time', '3', `http://127.0.0.1:${published}/`]);
    if (host.code !== 0)
      t.diagnostic(
        `the host side of the mesh did not answer (curl exit ${host.code}): dockerd programmed no DOCKER-INGRESS rule on this host (docs/engines.md)`,
      );
    const victim = ids[0] as string;
    assert.equal((await run('docker', ['kill', victim])).code, 0);
    const replaced = await waitForTasks(2, [victim]);
    assert.ok(!replaced.includes(victim));
    const fresh = replaced.find((id) => !ids.includes(id)) as string;
    assert.ok(await viaMesh(fresh), 'the replacement replica answers through the mesh');
  });
});
