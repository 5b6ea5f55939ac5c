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
import { ConfigTag, DNS_TOKEN_TCP, EXIT_KIND_SIGNALED, ExitFlag, StartTag, StatsTag } from './messages.ts';

const HEADER = readFileSync(new URL('./wire.h', import.meta.url), 'utf8');
/** The C programs that include wire.h instead of defining the protocol themselves. */
const C_USERS = [
  '../launcher/exec/runcvm-exec.c',
  '../launcher/supervisor/wireio.h',
  '../../guest/agent/proto.h',
  '../shim/guest.c',
  '../shim/stats.c',
];

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

test('wire.h: every constant (version, frame and flow-control sizes, EXIT fields) is the TypeScript one', () => {
  const d = Object.fromEntries(defines());
  // MSG_PROCESS_EXT_FIRST has no TypeScript counterpart: it bounds the message types (next test).
  delete d.MSG_PROCESS_EXT_FIRST;
  // Every #define of the header is compared: a constant added there without its TypeScript side fails.
  assert.deepEqual(d, {
    PROTO_VERSION: PROTOCOL_VERSION,
    FRAME_HDR: HEADER_SIZE,
    FRAME_MAX: MAX_PAYLOAD,
    DATA_MAX: MAX_DATA_CHUNK,
    STREAM_WINDOW,
    GRANT_BATCH,
    DNS_TOKEN_TCP,
    EXIT_KIND_SIGNALED,
    EXIT_FLAG_WRITEBACK_FAILED: ExitFlag.WRITEBACK_FAILED,
    EXIT_FLAG_OOM_KILLED: ExitFlag.OOM_KILLED,
  });
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
  assert.deepEqual(cEnum('stats_tag', 'STAT_'), { ...StatsTag });
});

test('the header parser is not vacuous: it reads every enum member', () => {
  assert.equal(Object.keys(cEnum('msg_type', 'MSG_')).length, 18);
  assert.throws(() => evalC('1 << 20'), /cannot evaluate/);
});

test('the C sides include wire.h and define none of its names themselves', () => {
  const names = [
    ...defines().keys(),
    ...Object.keys(cEnum('msg_type', '')),
    ...Object.keys(cEnum('config_tag', '')),
    ...Object.keys(cEnum('start_tag', '')),
  ];
  assert.ok(names.length > 50, 'the header parser found the names');
  for (const file of C_USERS) {
    const src = readFileSync(new URL(file, import.meta.url), 'utf8');
    assert.match(src, /#include "(\.\.\/)+(src\/)?agent-protocol\/wire\.h"/, `${file} includes wire.h`);
    for (const name of names)
      assert.doesNotMatch(
        src,
        new RegExp(`(#define\\s+|\\b)${name}\\s*=(?!=)|#define\\s+${name}\\b`),
        `${file} defines ${name} itself`,
      );
  }
});
