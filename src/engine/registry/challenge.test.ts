import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenge } from './challenge.js';

test('Bearer and Basic challenges', () => {
  assert.deepEqual(
    parseChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push"',
    ),
    {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/busybox:pull,push',
      },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="Registry Realm"'), {
    scheme: 'basic',
    params: { realm: 'Registry Realm' },
  });
  assert.deepEqual(parseChallenge('Basic'), { scheme: 'basic', params: {} });
});
