/** One connection attempt to a Unix socket another process may not have created yet. */
import { connect, type Socket } from 'node:net';

export function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', () => {
      s.destroy();
      resolve(undefined);
    });
  });
}
