/**
 * `runcvm-runtime delete` of an image-root container that did not exit cleanly: its guest's
 * changes are on the writable drive but not in Docker's layer. Before Docker can read the layer
 * again (dockerd and containerd's shim unmount the rootfs only once delete returns, and `docker
 * stop`/`kill` return only after it), a VM of its own writes them back (launcher/writeback-vm.ts),
 * started by runc in a sandbox made from the container's own rewritten config: same mounts,
 * capabilities, seccomp profile and cgroup limits, a fresh empty network namespace, no hooks.
 *
 * `create` leaves a marker naming the bundle and the drive dir (/run/runcvm/writeback/<id>):
 * the dispatcher starts Node for delete only when it exists, so other containers' deletes stay
 * on the runc-only path. The launcher marks a clean exit in the drive dir; then nothing runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tail } from '../common/tail.ts';
import { WRITTEN_BACK_MARKER } from '../contracts/launch-spec.ts';
import { type OciSpec, parseOciSpec } from '../oci/spec.ts';
import type { RuntimeArgs } from './cli-args.ts';
import type { HostConfig } from './host-config.ts';
import { isRewritten } from './rewrite.ts';
import { type RuncState, runcState, runRunc } from './runc.ts';

export const WRITEBACK_MARKER_DIR = '/run/runcvm/writeback';
/** A TCG boot on a loaded host plus the copy of what the guest wrote. */
const WRITEBACK_TIMEOUT_MS = 600_000;
const CONTAINER_SUFFIX = '-runcvm-wb';
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface WritebackMarker {
  bundle: string;
  /** Host dir of the container's drives (<layer>/runcvm): the launcher's mark of a clean exit is there. */
  drivesDir: string;
}

function markerPath(containerId: string): string {
  if (!ID.test(containerId)) throw new Error(`write-back marker: unexpected container id "${containerId}"`);
  return join(WRITEBACK_MARKER_DIR, containerId);
}

/** At create, for an image root the guest can write to (not --read-only). */
export function writeWritebackMarker(containerId: string, marker: WritebackMarker): void {
  mkdirSync(WRITEBACK_MARKER_DIR, { recursive: true, mode: 0o700 });
  // The previous run's mark of a clean exit must not excuse this one (unlink removes a planted link itself).
  rmSync(join(marker.drivesDir, WRITTEN_BACK_MARKER), { force: true });
  writeFileSync(markerPath(containerId), JSON.stringify(marker), { mode: 0o600 });
}

function readMarker(containerId: string): WritebackMarker | undefined {
  let text: string;
  try {
    text = readFileSync(markerPath(containerId), 'utf8');
  } catch {
    return undefined;
  }
  const m = JSON.parse(text) as Partial<WritebackMarker>;
  if (typeof m.bundle !== 'string' || typeof m.drivesDir !== 'string')
    throw new Error(`${markerPath(containerId)}: malformed`);
  return { bundle: m.bundle, drivesDir: m.drivesDir };
}

/** The launcher's mark, only as a regular file (the launcher can write that dir). */
function cleanlyWrittenBack(drivesDir: string): boolean {
  try {
    return lstatSync(join(drivesDir, WRITTEN_BACK_MARKER)).isFile();
  } catch {
    return false;
  }
}

/**
 * The write-back container's config, from the container's rewritten one (pure): the launcher in
 * write-back mode, no terminal, no hooks (libnetwork's must not run twice), a new network
 * namespace (the container's may be gone), a cgroup of its own beside the container's.
 */
export function writebackSpec(spec: OciSpec): OciSpec {
  if (!isRewritten(spec)) throw new Error("the bundle's config.json was not rewritten by runcvm");
  const linux = spec.linux ?? {};
  const { hooks: _hooks, ...rest } = spec as OciSpec & { hooks?: unknown };
  return {
    ...rest,
    process: { ...spec.process, args: [...spec.process.args, '--writeback'], terminal: false, consoleSize: undefined },
    linux: {
      ...linux,
      namespaces: (linux.namespaces ?? []).map((n) => (n.type === 'network' ? { type: 'network' } : n)),
      ...(linux.cgroupsPath ? { cgroupsPath: `${linux.cgroupsPath}${CONTAINER_SUFFIX}` } : {}),
    },
  };
}

function runWritebackContainer(
  host: HostConfig,
  globals: string[],
  containerId: string,
  bundle: string,
): Promise<string | undefined> {
  const dir = join(bundle, 'runcvm-wb');
  const id = `${containerId}${CONTAINER_SUFFIX}`;
  const config = join(bundle, 'config.json');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify(writebackSpec(parseOciSpec(readFileSync(config, 'utf8'), config))),
    { mode: 0o600 },
  );
  const tail = new Tail(4096);
  return new Promise((resolve) => {
    const child = spawn(host.runc, [...globals, 'run', '--bundle', dir, id], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => tail.push(d));
    child.stderr.on('data', (d: Buffer) => tail.push(d));
    const timer = setTimeout(() => {
      spawnSync(host.runc, [...globals, 'kill', id, 'KILL'], { stdio: 'ignore' });
    }, WRITEBACK_TIMEOUT_MS);
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      spawnSync(host.runc, [...globals, 'delete', '--force', id], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
      resolve(problem);
    };
    child.on('error', (e) => done(`running ${host.runc}: ${e.message}`));
    child.on('close', (code, signal) => done(code === 0 ? undefined : `exit ${signal ?? code}: ${tail.text().trim()}`));
  });
}

/** runc's state of the container, or undefined when runc has none (already deleted, never created). */
function stateOrUndefined(runc: string, globals: readonly string[], containerId: string): RuncState | undefined {
  try {
    return runcState(runc, globals, containerId);
  } catch {
    return undefined;
  }
}

/**
 * runc's delete first (the container's own cgroup and state go as always), then the write-back
 * if the container did not exit cleanly. A failed write-back is reported, never fatal: the
 * drive keeps the changes and the next start mounts it again.
 */
export async function deleteWithWriteback(
  args: RuntimeArgs,
  argv: string[],
  host: HostConfig,
  log: (msg: string) => void,
): Promise<number> {
  const globals = argv.slice(0, argv.indexOf(args.verb));
  // Created but never started (docker create, then rm): the guest never wrote anything.
  const neverStarted = stateOrUndefined(host.runc, globals, args.containerId)?.status === 'created';
  const code = runRunc(host.runc, argv);
  if (code !== 0) return code;
  const marker = readMarker(args.containerId);
  if (!marker) return code;
  try {
    if (!neverStarted && !cleanlyWrittenBack(marker.drivesDir)) {
      const problem = await runWritebackContainer(host, globals, args.containerId, marker.bundle);
      if (problem)
        log(
          `write-back of the writable drive after an unclean stop failed (the next start keeps the changes): ${problem}`,
        );
    }
  } finally {
    rmSync(markerPath(args.containerId), { force: true });
  }
  return code;
}
