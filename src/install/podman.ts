/**
 * Podman reads its OCI runtimes from containers.conf ([engine.runtimes]). runcvm does not edit
 * those files (they are often distribution-managed); `runcvm podman-config` prints the lines to add.
 */

export const PODMAN_CONF_FILES = ['/etc/containers/containers.conf', '/usr/share/containers/containers.conf'];

export function podmanConfig(name: string, binary: string): string {
  return `[engine.runtimes]\n${name} = ["${binary}"]\n`;
}

/** The runtimes a containers.conf names that point at BINARY (doctor). */
export function podmanRuntimesFor(text: string, binary: string): string[] {
  const found: string[] = [];
  let inRuntimes = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inRuntimes = line === '[engine.runtimes]';
    else if (inRuntimes && !line.startsWith('#')) {
      const m = /^"?([\w.-]+)"?\s*=\s*\[(.*)\]/.exec(line);
      if (m?.[2]?.includes(`"${binary}"`)) found.push(m[1] as string);
    }
  }
  return found;
}
