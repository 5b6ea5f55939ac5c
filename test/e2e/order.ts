/**
 * The order `npm run test:e2e` runs the end-to-end files in (test/run-e2e.ts), one at a time:
 * they share one dockerd and one installed runtime. Every file of test/e2e/ named *.test.ts is
 * listed exactly once (the runner and test/unit/e2e-order.test.ts refuse a file missing here).
 */
export const E2E_ORDER: readonly string[] = [
  'annotations.test.ts',
  'engines.test.ts',
  'exec.test.ts',
  'firecracker.test.ts',
  'flood.test.ts',
  'image-durability.test.ts',
  'image-live.test.ts',
  'image-writeback.test.ts',
  'image.test.ts',
  'kernel.test.ts',
  'lifecycle.test.ts',
  'netjoin.test.ts',
  'network.test.ts',
  'options.test.ts',
  'pods.test.ts',
  'product.test.ts',
  'resources.test.ts',
  'run.test.ts',
  'security.test.ts',
  'storage.test.ts',
  'sysctl.test.ts',
  'system.test.ts',
  // Last: it unregisters the runtime from dockerd for a moment (install, uninstall, install again).
  'install.test.ts',
];

/** What is wrong with the list against the files of the directory, one line each; empty when it matches. */
export function orderProblems(files: readonly string[], order: readonly string[] = E2E_ORDER): string[] {
  const problems: string[] = [];
  for (const f of files)
    if (!order.includes(f)) problems.push(`test/e2e/${f} is not in test/e2e/order.ts: add it where it should run`);
  for (const f of order) if (!files.includes(f)) problems.push(`test/e2e/order.ts lists ${f}, which does not exist`);
  const dup = order.filter((f, i) => order.indexOf(f) !== i);
  for (const f of dup) problems.push(`test/e2e/order.ts lists ${f} twice`);
  return problems;
}
