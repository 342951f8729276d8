import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionTokens, endToEnd, hopByHopHeaders } from './hop-by-hop.js';

test('the names Connection lists are read lower-cased; keep-alive alone lists none', () => {
  assert.equal(connectionTokens(undefined), undefined);
  assert.equal(connectionTokens(' Keep-Alive '), undefined);
  assert.deepEqual(connectionTokens('Close'), ['close']);
  assert.deepEqual(connectionTokens(['Keep-Alive, X-Hop ', 'x-other']), ['keep-alive', 'x-hop', 'x-other']);
  assert.equal(connectionTokens(' , '), undefined);
});

test('end-to-end headers: not hop-by-hop, not named by Connection, not pseudo-headers, not skipped', () => {
  const skip = new Set([...hopByHopHeaders, 'authorization']);
  const out = endToEnd(
    {
      ':path': '/',
      connection: 'keep-alive, X-Hop',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-sum',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'x-hop': '1',
      authorization: 'Bearer t',
      accept: 'text/plain',
      'set-cookie': ['a=1', 'b=2'],
    },
    skip,
  );
  assert.deepEqual(out, { accept: 'text/plain', 'set-cookie': ['a=1', 'b=2'] });
});
