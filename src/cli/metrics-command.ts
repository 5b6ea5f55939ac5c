/** `runcvm metrics [--listen ADDR]`: print the metrics once, or serve them until killed. */
import { parseArgs } from 'node:util';
import { runningVms } from '../install/running-vms.ts';
import { guestFigures } from './guest-metrics.ts';
import { formatMetrics, serveMetrics } from './metrics.ts';

export async function metricsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { listen: { type: 'string' } } });
  const collect = async () => {
    const vms = runningVms();
    const live = vms.filter((v) => !v.writeback);
    const guest = await Promise.all(live.map(async (v) => [v.containerId, await guestFigures(v)] as const));
    return formatMetrics(vms, new Map(guest));
  };
  if (values.listen === undefined) {
    process.stdout.write(await collect());
    return 0;
  }
  const server = await serveMetrics(values.listen, collect);
  const a = server.address();
  process.stderr.write(
    `runcvm metrics: serving http://${typeof a === 'object' && a ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : values.listen}/metrics\n`,
  );
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => server.close(() => resolve()));
  });
  return 0;
}
