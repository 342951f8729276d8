import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selfCommand } from './self-command.js';

test('ends Node options before the script, so arguments like --env-file stay ours', () => {
  const argv = selfCommand(['--env-file', 'x', '--require=y']);
  assert.equal(argv[0], process.execPath);
  assert.equal(argv[1], '--');
  assert.deepEqual(argv.slice(3), ['--env-file', 'x', '--require=y']);
});
