/**
 * Docker Swarm's routing mesh maps a published port to the task's port with a REDIRECT rule in
 * the task's netns (`-d <task ip> --dport <published> -j REDIRECT --to-ports <target>`). REDIRECT
 * delivers to a local socket of that netns, but the address now belongs to the guest: frames
 * bridged to the VM would be swallowed. For each such rule the launcher puts a DNAT to the
 * guest's address and target port in front of it, which bridged packets (br_netfilter) take.
 */
import type { IpRunner } from './netns.ts';

const REDIRECT =
  /^-A PREROUTING -d (\d+\.\d+\.\d+\.\d+)\/32 -p (tcp|udp) -m (?:tcp|udp) --dport (\d+) -j REDIRECT --to-ports (\d+)$/;
const MARK = 'runcvm-guest-port';

/** iptables argument lists that add the missing DNAT rules (pure). */
export function mirrorCommands(rules: string): string[][] {
  const lines = rules.split('\n').map((l) => l.trim());
  const cmds: string[][] = [];
  for (const line of lines) {
    const m = REDIRECT.exec(line);
    if (!m) continue;
    const [, ip, proto, dport, to] = m as unknown as [string, string, string, string, string];
    const spec = [
      '-d',
      `${ip}/32`,
      '-p',
      proto,
      '-m',
      proto,
      '--dport',
      dport,
      '-m',
      'comment',
      '--comment',
      MARK,
      '-j',
      'DNAT',
      '--to-destination',
      `${ip}:${to}`,
    ];
    const present = lines.some(
      (l) => l.includes(`--dport ${dport} `) && l.includes(MARK) && l.includes(`--to-destination ${ip}:${to}`),
    );
    if (!present) cmds.push(['-t', 'nat', '-I', 'PREROUTING', '1', ...spec]);
  }
  return cmds;
}

export type IptablesRunner = IpRunner;

export function mirrorRedirects(iptables: IptablesRunner): number {
  const cmds = mirrorCommands(iptables(['-t', 'nat', '-S', 'PREROUTING']));
  for (const c of cmds) iptables(c);
  return cmds.length;
}
