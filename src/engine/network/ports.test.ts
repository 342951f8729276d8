import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePortSpec } from './ports.js';

test('Docker -p forms', () => {
  assert.deepEqual(parsePortSpec('8080:80'), [
    { hostIP: '', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  ]);
  assert.deepEqual(parsePortSpec('127.0.0.1:53:53/udp'), [
    { hostIP: '127.0.0.1', hostPort: 53, containerPort: 53, protocol: 'udp' },
  ]);
  assert.deepEqual(parsePortSpec('80'), [{ hostIP: '', hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
  assert.equal(parsePortSpec('8000-8002:80-82').length, 3);
  assert.equal(parsePortSpec('8000-8002:80-82')[2]!.hostPort, 8002);
});

test('bad -p values name the value', () => {
  assert.throws(() => parsePortSpec('70000:80'), /Invalid port "70000"/);
  assert.throws(() => parsePortSpec('80/sctp'), /Invalid protocol "sctp"/);
  assert.throws(() => parsePortSpec('1:2:3:4'), /expected \[ip:\]/);
  assert.throws(() => parsePortSpec('8000-8001:80'), /differ in size/);
});
