/**
 * The folders of src/ form layers (docs/architecture.md, "Layering"): a folder imports only
 * folders of a lower layer, so there is no import cycle between folders, and src/contracts/
 * (the contracts between processes) imports nothing of the project. This test parses every
 * import of src/**\/*.ts, tests included, and fails on a cycle, an upward or sideways import,
 * or a folder missing from LAYERS.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '../../src');

/** Keep in step with the table in docs/architecture.md. Lower number = lower layer. */
const LAYERS: Record<string, number> = {
  contracts: 0,
  common: 1,
  oci: 2,
  'agent-protocol': 2,
  rootfs: 2,
  vmm: 3,
  network: 4,
  volumes: 5,
  runtime: 6,
  launcher: 6,
  install: 7,
  cli: 8,
};

interface Edge {
  from: string;
  to: string;
  /** The file pair that makes the edge, for the failure message. */
  via: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function folderOf(file: string): string {
  return relative(SRC, file).split('/')[0] ?? '';
}

/** Every import between two different folders of src/ (static, dynamic and re-exports). */
function folderEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imp of info.importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), imp.fileName);
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) edges.push({ from, to, via: `${relative(SRC, file)} -> ${relative(SRC, target)}` });
    }
  }
  return edges;
}

/** One cycle in the folder graph as a path (a -> b -> a), or undefined. */
export function findCycle(edges: readonly Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const e of edges) next.set(e.from, (next.get(e.from) ?? new Set()).add(e.to));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    if (state.get(n) === 'done') return undefined;
    state.set(n, 'open');
    stack.push(n);
    for (const m of next.get(n) ?? []) {
      const cycle = visit(m);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of next.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}

const edges = folderEdges();

test('the folder graph is parsed (sanity: known imports are seen)', () => {
  assert.ok(
    edges.some((e) => e.from === 'runtime' && e.to === 'contracts'),
    'runtime -> contracts not found: the import parser is broken',
  );
  assert.ok(
    edges.some((e) => e.from === 'cli' && e.to === 'launcher'),
    'cli -> launcher not found: the import parser is broken',
  );
});

test('findCycle finds a cycle between folders and none in a layered graph', () => {
  const e = (from: string, to: string): Edge => ({ from, to, via: '' });
  assert.deepEqual(findCycle([e('a', 'b'), e('b', 'c'), e('c', 'a')]), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle([e('a', 'b'), e('b', 'c'), e('a', 'c')]), undefined);
});

test('no import cycle between folders of src/', () => {
  const cycle = findCycle(edges);
  assert.equal(
    cycle,
    undefined,
    `import cycle between folders: ${cycle?.join(' -> ')}\n${edges
      .filter((e) => cycle?.includes(e.from) && cycle.includes(e.to))
      .map((e) => `  ${e.via}`)
      .join('\n')}`,
  );
});

test('src/contracts/ imports nothing of the project', () => {
  const bad = edges.filter((e) => e.from === 'contracts');
  assert.deepEqual(
    bad.map((e) => e.via),
    [],
  );
});

test('every folder of src/ has a layer, and imports only lower layers (docs/architecture.md)', () => {
  const folders = new Set(
    sourceFiles(SRC)
      .map(folderOf)
      .filter((f) => !f.endsWith('.ts')),
  );
  const missing = [...folders].filter((f) => LAYERS[f] === undefined);
  assert.deepEqual(
    missing,
    [],
    'folders without a layer: add them to LAYERS here and to the table in docs/architecture.md',
  );
  const upward = edges
    .filter((e) => (LAYERS[e.to] ?? 0) >= (LAYERS[e.from] ?? 0))
    .map((e) => `${e.via} (layer ${LAYERS[e.from]} -> ${LAYERS[e.to]})`);
  assert.deepEqual(upward, [], 'imports that do not go to a lower layer');
});
