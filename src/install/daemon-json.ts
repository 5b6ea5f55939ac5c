/** Registering runcvm in /etc/docker/daemon.json without disturbing any other key. */

export type DaemonJson = Record<string, unknown> & {
  runtimes?: Record<string, { path: string; runtimeArgs?: string[] }>;
};

export function parseDaemonJson(text: string | undefined, file: string): DaemonJson {
  if (text === undefined || text.trim() === '') return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as DaemonJson;
  } catch (e) {
    throw new Error(`${file}: cannot parse (${(e as Error).message}); fix it by hand, runcvm will not overwrite it`);
  }
}

export function withRuntime(cfg: DaemonJson, name: string, path: string): DaemonJson {
  return { ...cfg, runtimes: { ...(cfg.runtimes ?? {}), [name]: { path } } };
}

export function withoutRuntime(cfg: DaemonJson, name: string): DaemonJson {
  const { [name]: _removed, ...others } = cfg.runtimes ?? {};
  const { runtimes: _old, ...rest } = cfg;
  return Object.keys(others).length > 0 ? { ...rest, runtimes: others } : rest;
}

export function formatDaemonJson(cfg: DaemonJson): string {
  return `${JSON.stringify(cfg, null, 2)}\n`;
}
