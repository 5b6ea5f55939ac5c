import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRuntimeArgs } from './cli-args.ts';

test('parses the create call exactly as the shim makes it', () => {
  const a = parseRuntimeArgs(
    [
      '--root',
      '/var/run/docker/runtime-runc/moby',
      '--log',
      '/b/log.json',
      '--log-format',
      'json',
      'create',
      '--bundle',
      '/b',
      '--pid-file',
      '/b/init.pid',
      '--console-socket',
      '/tmp/pty/pty.sock',
      'abc123',
    ],
    '/cwd',
  );
  assert.deepEqual(a, {
    root: '/var/run/docker/runtime-runc/moby',
    log: '/b/log.json',
    logFormat: 'json',
    globalArgv: ['--root', '/var/run/docker/runtime-runc/moby', '--log', '/b/log.json', '--log-format', 'json'],
    verb: 'create',
    bundle: '/b',
    pidFile: '/b/init.pid',
    process: undefined,
    containerId: 'abc123',
  });
});

test('bundle defaults to the cwd and --flag=value forms are understood', () => {
  const a = parseRuntimeArgs(['--log=/l.json', '--debug', 'create', 'id1'], '/cwd');
  assert.equal(a.bundle, '/cwd');
  assert.equal(a.log, '/l.json');
  assert.equal(a.verb, 'create');
  assert.equal(a.containerId, 'id1');
});

test('parses the exec call with its process file and console socket', () => {
  const a = parseRuntimeArgs(
    [
      '--root',
      '/r',
      '--log',
      '/b/log.json',
      '--log-format',
      'json',
      'exec',
      '--process',
      '/tmp/runc-process1',
      '--console-socket',
      '/tmp/p.sock',
      '--detach',
      '--pid-file',
      '/b/e.pid',
      'abc123',
    ],
    '/b',
  );
  assert.equal(a.verb, 'exec');
  assert.equal(a.process, '/tmp/runc-process1');
  assert.equal(a.root, '/r');
  assert.equal(a.containerId, 'abc123');
  assert.equal(a.bundle, '/b');
});
