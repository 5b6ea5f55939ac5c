import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mirrorCommands } from './port-redirects.ts';

// `iptables -t nat -S PREROUTING` in a Swarm task's netns (Docker 20.10, published 18500 → 8500).
const SWARM =
  '-P PREROUTING ACCEPT\n-A PREROUTING -d 10.0.0.4/32 -p tcp -m tcp --dport 18500 -j REDIRECT --to-ports 8500\n';

test('each Swarm REDIRECT gets a DNAT to the guest in front of it, once', () => {
  const cmds = mirrorCommands(SWARM);
  assert.deepEqual(cmds, [
    [
      '-t',
      'nat',
      '-I',
      'PREROUTING',
      '1',
      '-d',
      '10.0.0.4/32',
      '-p',
      'tcp',
      '-m',
      'tcp',
      '--dport',
      '18500',
      '-m',
      'comment',
      '--comment',
      'runcvm-guest-port',
      '-j',
      'DNAT',
      '--to-destination',
      '10.0.0.4:8500',
    ],
  ]);
  const after = `${SWARM}-A PREROUTING -d 10.0.0.4/32 -p tcp -m tcp --dport 18500 -m comment --comment runcvm-guest-port -j DNAT --to-destination 10.0.0.4:8500\n`;
  assert.deepEqual(mirrorCommands(after), []);
});

test("other rules (Docker's DNS DNAT, plain containers) are left alone", () => {
  assert.deepEqual(mirrorCommands('-P PREROUTING ACCEPT\n-A PREROUTING -d 127.0.0.11/32 -j DOCKER_OUTPUT\n'), []);
  assert.deepEqual(mirrorCommands(''), []);
});
