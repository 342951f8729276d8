import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinToken } from '../apiserver/node-join.js';
import { parseJoinToken } from './join.js';

test('the join token names the CA by its sha256 and carries the secret (k3s format)', () => {
  const t = joinToken('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', 's3cret');
  assert.match(t, /^K10[0-9a-f]{64}::server:s3cret$/);
  assert.deepEqual(parseJoinToken(`${t}\n`), { caHash: t.slice(3, 67), secret: 's3cret' });
});

test('a token in another shape is refused with what is expected', () => {
  for (const bad of ['s3cret', 'K10abc::server:x', `K10${'0'.repeat(64)}::node:x`])
    assert.throws(
      () => parseJoinToken(bad),
      /Invalid node token: expected K10<sha256 of the CA>::server:<secret>/,
    );
});
