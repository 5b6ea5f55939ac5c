// One bundled file for the runtime, launcher and installer: Node starts on every `create`,
// so a single pre-linked file keeps module resolution out of the start-up path.
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { build } from 'esbuild';

// The version is baked in (src/common/version.ts): an installed bundle has no package.json beside it.
// RUNCVM_BUILD_VERSION overrides it (scripts/package.sh --version: a test's "newer" package).
const version = process.env.RUNCVM_BUILD_VERSION || JSON.parse(readFileSync('package.json', 'utf8')).version;

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/runcvm.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  // A map beside the bundle, with absolute source paths, so V8 coverage of installed copies
  // (`runcvm install --coverage-dir`, docs/testing.md) maps back to src/. Node reads it only when
  // coverage or --enable-source-maps asks, so starts do not pay for it.
  sourcemap: 'linked',
  sourceRoot: `${process.cwd()}/dist/`,
  legalComments: 'none',
  define: { RUNCVM_BUILD_VERSION: JSON.stringify(version) },
  logLevel: 'warning',
});

// The container's PID 1 in front of the launcher (src/launcher/init): a static C program.
execFileSync('make', ['-s', '-C', 'src/launcher/init', `OUT=${process.cwd()}/dist`], { stdio: 'inherit' });
// The docker exec client (src/launcher/exec): static C too, it starts once per docker exec.
execFileSync('make', ['-s', '-C', 'src/launcher/exec', `OUT=${process.cwd()}/dist`], { stdio: 'inherit' });
// The runtime's exec verb (src/runtime/exec-prep): static C, so docker exec starts no Node.
execFileSync('make', ['-s', '-C', 'src/runtime/exec-prep', `OUT=${process.cwd()}/dist`], { stdio: 'inherit' });
// The container's data plane after boot (src/launcher/supervisor): static C, no Node resident.
execFileSync('make', ['-s', '-C', 'src/launcher/supervisor', `OUT=${process.cwd()}/dist`], { stdio: 'inherit' });
// The CRI handler's shim (src/shim): static C, resident for a pod's whole life.
execFileSync('make', ['-s', '-C', 'src/shim', `OUT=${process.cwd()}/dist`], { stdio: 'inherit' });
// The dispatcher template `runcvm install` fills in: beside the bundle, so an install needs no source tree.
copyFileSync('src/runtime/dispatcher.sh', 'dist/dispatcher.sh');
