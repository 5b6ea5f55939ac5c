/**
 * `runcvm qmp-relay`: what `runcvm-runtime update` runs inside the container's sandbox (runc
 * exec, the launcher's credentials; runtime/sandbox-relay.ts) to reach QEMU. It copies bytes
 * between its stdin/stdout and the QMP socket, so the socket path is resolved in the
 * container's own root, never by host root. Imports nothing heavy: it starts on every update.
 */
import { connect } from 'node:net';
import { describeError } from '../../contracts/errors.ts';
import { RUN_DIR } from '../../contracts/launch-spec.ts';
import { qemuPaths } from './argv.ts';

export const QMP_RELAY_VERB = 'qmp-relay';

export function qmpRelay(): Promise<number> {
  const path = qemuPaths(RUN_DIR).qmpSocket;
  return new Promise((resolve) => {
    const sock = connect(path);
    sock.on('error', (e) => {
      process.stderr.write(`runcvm ${QMP_RELAY_VERB}: ${describeError(e)}\n`);
      resolve(1);
    });
    // The host went away (EPIPE): nothing left to relay.
    process.stdout.on('error', () => resolve(1));
    sock.once('connect', () => {
      process.stdin.pipe(sock);
      sock.pipe(process.stdout);
    });
    // The host closing our stdin (update done, or gave up) ends the QMP session.
    process.stdin.once('end', () => sock.end());
    sock.once('close', (hadError) => hadError || resolve(0));
  });
}
