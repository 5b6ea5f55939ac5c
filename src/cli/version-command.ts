/**
 * `runcvm version`: runcvm, the agent in the installed initramfs, and the runc the runtime
 * wraps (runc's own lines, so a reader that knows `runc --version` finds them unchanged).
 */
import { parseArgs } from 'node:util';
import { versionText } from '../common/version.ts';
import { agentVersion, runcVersion } from '../install/component-versions.ts';
import { readHostConfig } from '../runtime/host-config.ts';

export function versionCommand(argv: string[], defaultPrefix: string): number {
  const { values } = parseArgs({ args: argv, options: { prefix: { type: 'string', default: defaultPrefix } } });
  const prefix = values.prefix as string;
  let out = versionText('runcvm');
  const agent = agentVersion(prefix);
  out += agent.version ? `runcvm-agent version ${agent.version}\n` : `runcvm-agent: unknown (${agent.error})\n`;
  let runc = 'runc';
  try {
    runc = readHostConfig(prefix).runc;
  } catch {
    // Not installed under this prefix: the runc in PATH is the one install would pick.
  }
  const r = runcVersion(runc);
  out += r.lines ? `${r.lines.join('\n')}\n` : `runc: unknown (${r.error})\n`;
  process.stdout.write(out);
  return agent.version && r.version ? 0 : 1;
}
