/**
 * The C side's wire definitions (wire.h, shared by the guest agent, the host supervisor and the
 * exec client) against this side's constants: parsed from the header, so a tag added on one side
 * only fails here instead of on a running VM.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GRANT_BATCH, STREAM_WINDOW } from './flow.ts';
import { HEADER_SIZE, MAX_DATA_CHUNK, MAX_PAYLOAD, MsgType, PROTOCOL_VERSION } from './frame.ts';
import { ConfigTag, DNS_TOKEN_TCP, StartTag } from './messages.ts';

const HEADER = readFileSync(new URL('./wire.h', import.meta.url), 'utf8');

/** A C integer expression of the forms the header uses: 12, 0x0A, (1024u * 1024). */
function evalC(expr: string): number {
  const e = expr.replace(/\/\*.*?\*\//g, '').trim();
  const m = /^\(?\s*(0x[0-9a-f]+|\d+)u?\s*(?:\*\s*(0x[0-9a-f]+|\d+)u?\s*)?\)?$/i.exec(e);
  if (!m) throw new Error(`wire.h: cannot evaluate "${expr}"`);
  return Number(m[1]) * (m[2] === undefined ? 1 : Number(m[2]));
}

function defines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of HEADER.matchAll(/^#define\s+([A-Z_0-9]+)\s+(.+)$/gm)) {
    if (m[1] === 'RUNCVM_WIRE_H') continue;
    out.set(m[1] as string, evalC(m[2] as string));
  }
  return out;
}

/** NAME = value lines of `enum <name> { ... }`, the prefix removed and the rest kept as in TypeScript. */
function cEnum(name: string, prefix: string): Record<string, number> {
  const body = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(HEADER)?.[1];
  assert.ok(body, `wire.h has enum ${name}`);
  const out: Record<string, number> = {};
  for (const m of body.matchAll(/^\s*([A-Z_0-9]+)\s*=\s*([^,]+),/gm)) {
    out[(m[1] as string).slice(prefix.length)] = evalC(m[2] as string);
  }
  return out;
}

test('wire.h: the protocol version, frame and flow-control sizes are the TypeScript ones', () => {
  const d = defines();
  assert.equal(d.get('PROTO_VERSION'), PROTOCOL_VERSION);
  assert.equal(d.get('FRAME_HDR'), HEADER_SIZE);
  assert.equal(d.get('FRAME_MAX'), MAX_PAYLOAD);
  assert.equal(d.get('DATA_MAX'), MAX_DATA_CHUNK);
  assert.equal(d.get('STREAM_WINDOW'), STREAM_WINDOW);
  assert.equal(d.get('GRANT_BATCH'), GRANT_BATCH);
  assert.equal(d.get('DNS_TOKEN_TCP'), DNS_TOKEN_TCP);
});

test('wire.h: every message type, with the same number on both sides', () => {
  assert.deepEqual(cEnum('msg_type', 'MSG_'), { ...MsgType });
  const ext = defines().get('MSG_PROCESS_EXT_FIRST') as number;
  assert.ok(
    Object.values(MsgType).every((t) => t < ext),
    'no message type in the forwarded-extension range',
  );
});

test('wire.h: every CONFIG and START tag, with the same number on both sides', () => {
  assert.deepEqual(cEnum('config_tag', 'CFG_'), { ...ConfigTag });
  assert.deepEqual(cEnum('start_tag', 'ST_'), { ...StartTag });
});

test('the header parser is not vacuous: it reads every enum member', () => {
  assert.equal(Object.keys(cEnum('msg_type', 'MSG_')).length, 17);
  assert.throws(() => evalC('1 << 20'), /cannot evaluate/);
});
