/**
 * runc's --log file format: JSON lines {level,msg,time}. containerd shows the user the last
 * "error" line, so create failures must land here or Docker only says "unable to retrieve OCI
 * runtime error".
 */
import { appendFileSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface RuntimeLog {
  write(level: LogLevel, msg: string): void;
}

export function runcLog(path: string | undefined, format: string | undefined): RuntimeLog {
  return {
    write(level, msg) {
      const line =
        format === 'json'
          ? `${JSON.stringify({ level, msg, time: new Date().toISOString() })}\n`
          : `time="${new Date().toISOString()}" level=${level} msg="${msg.replace(/"/g, '\\"')}"\n`;
      if (path) {
        try {
          appendFileSync(path, line);
          return;
        } catch {
          // Fall through to stderr, which the shim also captures.
        }
      }
      process.stderr.write(line);
    },
  };
}
