/**
 * A byte stream to a socket inside a container's launcher sandbox, for code that runs as host
 * root (docker update). Host root never opens a path in the container's root: through
 * /proc/<pid>/root, an absolute symlink the container planted resolves against the host's root
 * (a compromised launcher could point us at the Docker socket). Instead `runc exec` runs a relay
 * verb of runcvm.mjs in the sandbox; without --process, runc takes the user, capabilities,
 * seccomp profile and namespaces from the container's config, i.e. the launcher's, so the relay
 * reaches nothing the launcher cannot. Its stdio is the stream. What comes back is untrusted:
 * readers bound it (qmp.ts), the relay's stderr is kept short and printable, and closing the
 * stream kills runc exec (the relay then sees EOF on stdin and ends).
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { Tail } from '../common/tail.ts';
import { GuestFailure } from '../contracts/errors.ts';
import { PREFIX_IN_CONTAINER } from '../contracts/launch-spec.ts';

const STDERR_BYTES = 2048;

export interface RelayTarget {
  runc: string;
  /** runc's state root (--root), as containerd passed it. */
  root?: string;
  containerId: string;
  /** The host's node; the sandbox sees it at the same path (/usr and the host dirs are bound in). */
  node: string;
}

export function relayArgv(t: RelayTarget, verb: string): string[] {
  const root = t.root ? ['--root', t.root] : [];
  return [...root, 'exec', t.containerId, t.node, '--no-warnings', `${PREFIX_IN_CONTAINER}/lib/runcvm.mjs`, verb];
}

/** Control characters in a message the container wrote would reach the user's terminal. */
function printable(s: string): string {
  return s
    .replace(/[\x00-\x1f\x7f-\x9f]/g, ' ')
    .replace(/ {2,}/g, ' ')
    .trim();
}

export function sandboxRelay(t: RelayTarget, verb: string): Duplex {
  const what = `runc exec ${verb}`;
  const child = spawn(t.runc, relayArgv(t, verb), { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = new Tail(STDERR_BYTES);
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  const stream = new Duplex({
    read: () => void child.stdout.resume(),
    // A write to a relay that is gone fails with EPIPE; its exit (below) says why it is gone.
    write: (chunk, _enc, cb) => void child.stdin.write(chunk, () => cb()),
    final: (cb) => void child.stdin.end(cb),
    destroy: (err, cb) => {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
      child.kill('SIGKILL');
      cb(err);
    },
  });
  child.stdin.on('error', () => {});
  child.stdout.on('data', (d: Buffer) => {
    if (!stream.push(d)) child.stdout.pause();
  });
  child.on('error', (e) => stream.destroy(new GuestFailure(what, { cause: e })));
  child.on('close', (code, signal) => {
    const why = printable(stderr.text());
    stream.destroy(new Error(`${what} exited (${signal ?? `status ${code}`})${why ? `: ${why}` : ''}`));
  });
  return stream;
}
