/**
 * Test support: checks an API call against runcvm's Firecracker API contract (api-contract.ts).
 * Used by config.test.ts on the driver's calls and by the stand-in fake-firecracker.ts on every
 * request it receives.
 */
import { API_CONTRACT, API_VERSION, type Endpoint, type Field, type Shape } from './api-contract.ts';

/** Firecracker's path ids: non-empty, letters, digits and '_' only. */
const ID = /^[\p{L}\p{N}_]+$/u;

function matches(template: string, path: string): string | null | undefined {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  let id: string | null = null;
  for (const [i, seg] of t.entries()) {
    const got = p[i] as string;
    if (seg.startsWith('{')) id = got;
    else if (seg !== got) return undefined;
  }
  return id;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkField(f: Field, v: unknown, at: string): string[] {
  switch (f.type) {
    case 'string':
      if (typeof v !== 'string') return [`${at}: must be a string`];
      if (f.enum && !f.enum.includes(v))
        return [`${at}: must be one of ${f.enum.join(', ')} (got ${JSON.stringify(v)})`];
      if (f.pattern && !f.pattern.test(v)) return [`${at}: must match ${f.pattern} (got ${JSON.stringify(v)})`];
      return [];
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return [`${at}: must be an integer`];
      if (f.minimum !== undefined && v < f.minimum) return [`${at}: must be >= ${f.minimum} (got ${v})`];
      if (f.maximum !== undefined && v > f.maximum) return [`${at}: must be <= ${f.maximum} (got ${v})`];
      return [];
    case 'boolean':
      return typeof v === 'boolean' ? [] : [`${at}: must be a boolean`];
    case 'object':
      return checkShape(f.shape, v, at);
  }
}

export function checkShape(shape: Shape, v: unknown, at: string): string[] {
  if (!isObject(v)) return [`${at}: must be an object`];
  const problems = shape.required.filter((k) => v[k] === undefined).map((k) => `${at}: "${k}" is required`);
  for (const [k, value] of Object.entries(v)) {
    const f = shape.fields[k];
    problems.push(...(f ? checkField(f, value, `${at}/${k}`) : [`${at}: unknown field "${k}"`]));
  }
  return problems;
}

function checkBody(ep: Endpoint, id: string | null, body: unknown, at: string): string[] {
  if (!ep.body) return body === undefined ? [] : [`${at}: takes no body`];
  if (body === undefined) return [`${at}: a body is required`];
  const problems = checkShape(ep.body, body, at);
  if (problems.length > 0) return problems;
  const b = body as Record<string, unknown>;
  if (ep.idField && b[ep.idField] !== id) {
    problems.push(`${at}: "${ep.idField}" must equal the id in the path (${JSON.stringify(id)})`);
  }
  for (const r of ep.rules ?? []) if (!r.holds(b)) problems.push(`${at}: ${r.says}`);
  return problems;
}

/**
 * The problems with a call (empty when it keeps the contract). Throws for a path that is no
 * endpoint of the contract, as Firecracker answers an unknown path.
 */
export function checkCall(method: string, path: string, body: unknown): string[] {
  const hits = API_CONTRACT.map((ep) => ({ ep, id: matches(ep.path, path) })).filter((h) => h.id !== undefined);
  if (hits.length === 0) throw new Error(`${path}: not an endpoint of the Firecracker API ${API_VERSION} contract`);
  const at = `${method} ${path}`;
  const hit = hits.find((h) => h.ep.method === method);
  if (!hit) return [`${at}: method not in the contract (${hits.map((h) => h.ep.method).join(', ')})`];
  const id = hit.id ?? null;
  if (id !== null && !ID.test(id)) return [`${at}: the id ${JSON.stringify(id)} may hold only letters, digits and '_'`];
  return checkBody(hit.ep, id, body, at);
}

/** The problems with a 200 answer's body for `method path` (for the stand-in's own answers). */
export function checkResponse(method: string, path: string, body: unknown): string[] {
  const ep = API_CONTRACT.find((e) => e.method === method && matches(e.path, path) !== undefined);
  if (!ep?.response) return [`${method} ${path}: the contract describes no answer`];
  return checkShape(ep.response, body, `${method} ${path} answer`);
}
