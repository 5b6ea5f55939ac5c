/**
 * runcvm's version. The bundle gets it from package.json at build time (esbuild `define` in
 * scripts/bundle.mjs), so an installed runcvm needs no source tree to say what it is. Run from
 * the sources (tsx, tests), package.json two directories up is read instead.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

declare const RUNCVM_BUILD_VERSION: string | undefined;

function fromPackageJson(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function runcvmVersion(): string {
  return typeof RUNCVM_BUILD_VERSION === 'string' ? RUNCVM_BUILD_VERSION : fromPackageJson();
}

/** `runcvm --version`: one line per component, name first, as `runc --version` does. */
export function versionText(component = 'runcvm'): string {
  return `${component} version ${runcvmVersion()}\n`;
}
