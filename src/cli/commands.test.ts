import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { COMMANDS, commandHelp, overview, wantsHelp } from './commands.ts';

test('every command main dispatches has help, and every help entry is a command', () => {
  const main = readFileSync(new URL('./main.ts', import.meta.url), 'utf8');
  const cases = [...main.matchAll(/case '([a-z-]+)':/g)].map((m) => m[1] as string);
  cases.push('qmp-relay', 'help'); // QMP_RELAY_VERB is a constant; help is answered before the switch
  for (const c of cases) assert.ok(commandHelp(c), `no help for ${c}`);
  for (const c of Object.keys(COMMANDS)) assert.ok(cases.includes(c), `help for ${c}, which main does not dispatch`);
  for (const c of Object.keys(COMMANDS)) assert.match(overview(), new RegExp(`^  ${c} `, 'm'));
});

test('--help anywhere for option-only commands, only first where arguments pass through', () => {
  assert.equal(wantsHelp('install', ['--prefix', '/x', '--help']), true);
  assert.equal(wantsHelp('cache', ['ls', '-h']), true);
  assert.equal(wantsHelp('runtime', ['--root', '/r', 'create', '--help']), false);
  assert.equal(wantsHelp('debug', ['abc', 'ls', '--help']), false);
  assert.equal(wantsHelp('debug', ['--help']), true);
  assert.match(commandHelp('install') as string, /^usage: runcvm install .*--allow-tcg/m);
});
