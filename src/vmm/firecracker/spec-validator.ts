/**
 * Test support: validates API request bodies against Firecracker's official OpenAPI (swagger
 * 2.0) document, with unknown properties rejected so a misspelt field cannot pass.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

interface SwaggerParam { in: string; schema?: { $ref?: string } }
interface Swagger {
  info: { version: string };
  paths: Record<string, Record<string, { parameters?: SwaggerParam[] }>>;
  definitions: Record<string, Record<string, unknown>>;
}

function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = closeObjects(v);
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export class FirecrackerSpec {
  private readonly doc: Swagger;
  private readonly ajv = new Ajv({ strict: false, allErrors: true });

  constructor(file: string) {
    this.doc = parse(readFileSync(file, 'utf8')) as Swagger;
    this.ajv.addSchema({ $id: 'fc', definitions: closeObjects(this.doc.definitions) as object });
  }

  get version(): string {
    return this.doc.info.version;
  }

  private pathTemplate(path: string): string {
    const hit = Object.keys(this.doc.paths).find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
    if (!hit) throw new Error(`${path}: not an endpoint of the Firecracker API ${this.version}`);
    return hit;
  }

  /** Returns the validation errors (empty when the call is valid). */
  check(method: string, path: string, body: unknown): string[] {
    const op = this.doc.paths[this.pathTemplate(path)]?.[method.toLowerCase()];
    if (!op) return [`${method} ${path}: method not allowed by the spec`];
    const ref = op.parameters?.find((p) => p.in === 'body')?.schema?.$ref;
    if (!ref) return body === undefined ? [] : [`${method} ${path}: the spec defines no body`];
    const validate: ValidateFunction = this.ajv.compile({ $ref: `fc${ref}` });
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${method} ${path}${e.instancePath}: ${e.message}`);
  }
}
