import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusOf } from './channel-session.js';

test('a session ends with the Status kubectl turns into its exit code', () => {
  assert.deepEqual(statusOf({ exitCode: 0 }), { metadata: {}, status: 'Success' });
  const failed = statusOf({ exitCode: 3 }, ['sh', '-c', 'exit 3']);
  assert.equal(failed.reason, 'NonZeroExitCode');
  assert.deepEqual(failed.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  assert.match(String(failed.message), /\[sh -c exit 3\], exit code 3$/);
  assert.deepEqual(statusOf({ error: 'boom' }), {
    metadata: {},
    status: 'Failure',
    message: 'boom',
    reason: 'InternalError',
    code: 500,
  });
});
