/**
 * The process `docker exec` starts in the container (runc exec of a rewritten process.json):
 * it connects to the launcher's exec socket, runs the requested process in the guest, relays
 * stdio, signals and window size, and exits with the guest process's status.
 */
import { AgentSession } from './agent-session.ts';
import { attachProcess, outcomeCode } from './attach.ts';
import { EXEC_SOCKET } from './exec-server.ts';
import type { WorkloadProcess } from './launch-spec.ts';
import { flush } from './stdio-relay.ts';
import { tryConnect } from '../common/unix-socket.ts';
import { waitUntil } from '../common/wait.ts';

export const EXEC_ENV = 'RUNCVM_EXEC_PROCESS';
/** A container counts as running while its VM may still be booting (TCG: tens of seconds). */
const CONNECT_TIMEOUT_MS = 300_000;
const CLIENT_ID = 1;

export function encodeExecProcess(p: WorkloadProcess): string {
  return Buffer.from(JSON.stringify(p)).toString('base64');
}

function decodeExecProcess(value: string | undefined): WorkloadProcess {
  if (!value) throw new Error(`${EXEC_ENV} is not set: this command is started by runcvm's runtime for docker exec`);
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as WorkloadProcess;
}

export async function runExecClient(): Promise<number> {
  let code: number;
  try {
    const proc = decodeExecProcess(process.env[EXEC_ENV]);
    const sock = await waitUntil('the container\'s VM to accept docker exec', () => tryConnect(EXEC_SOCKET), {
      timeoutMs: CONNECT_TIMEOUT_MS,
      intervalMs: 20,
    });
    const session = new AgentSession(sock, (l) => process.stderr.write(`runcvm: ${l.line}\n`));
    const outcome = await Promise.race([
      attachProcess(session, sock, CLIENT_ID, proc),
      session.failed.then((e) => Promise.reject(new Error(`the container stopped during exec (${e.message})`))),
    ]);
    if (outcome.kind === 'error') process.stderr.write(`runcvm: ${outcome.error.message}\n`);
    code = outcomeCode(outcome);
  } catch (e) {
    process.stderr.write(`runcvm: ${(e as Error).message}\n`);
    code = 1;
  }
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  return code;
}
