import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfCommand } from './self-command.js';

test('ends Node options before the script, so arguments like --env-file stay ours', () => {
  const argv = selfCommand(['--env-file', 'x', '--require=y'], {});
  assert.equal(argv[0], process.execPath);
  assert.equal(argv[1], '--');
  assert.deepEqual(argv.slice(3), ['--env-file', 'x', '--require=y']);
});

test("moves NODE_EXTRA_CA_CERTS aside for Node's start, as bin/berth's shebang does", () => {
  const argv = selfCommand(['ps'], { NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
  assert.deepEqual(argv.slice(0, 5), [
    '/usr/bin/env',
    '-u',
    'NODE_EXTRA_CA_CERTS',
    'BERTH_NODE_EXTRA_CA_CERTS=/etc/ca.pem',
    process.execPath,
  ]);
  assert.deepEqual(argv.slice(5, 6), ['--']);
  assert.deepEqual(argv.slice(-1), ['ps']);
});
