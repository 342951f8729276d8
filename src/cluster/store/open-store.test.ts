import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from './open-store.js';

test('bad endpoints name the endpoint', () => {
  assert.throws(() => openStore('mysql://x', '/tmp'), /Invalid datastore endpoint "mysql:\/\/x"/);
  assert.throws(() => openStore('etcd://nohost', '/tmp'), /"http:\/\/nohost" is not host:port/);
});
