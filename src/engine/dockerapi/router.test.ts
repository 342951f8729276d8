import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from './router.js';
import { splitVersion } from './version.js';

describe('Router', () => {
  const h = async () => {};
  const r = new Router()
    .add('GET', '/containers/json', h)
    .add('GET', '/containers/{id}/json', h)
    .add('POST', '/containers/{id}/start', h)
    .addGreedy('GET', '/images/', 'name', '/json', h);

  it('matches parameters, and image names with slashes', () => {
    assert.deepEqual((r.match('GET', '/containers/abc/json') as { params: unknown }).params, { id: 'abc' });
    assert.deepEqual((r.match('GET', '/images/library/busybox:1/json') as { params: unknown }).params, {
      name: 'library/busybox:1',
    });
    assert.ok('handler' in r.match('HEAD', '/containers/json'));
  });

  it('tells an unknown path from a wrong method', () => {
    assert.deepEqual(r.match('GET', '/nothing'), { error: 'not-found' });
    assert.deepEqual(r.match('GET', '/containers/abc/start'), { error: 'method' });
  });
});

describe('splitVersion', () => {
  it('takes the optional /v1.NN prefix', () => {
    assert.deepEqual(splitVersion('/v1.41/containers/json'), { version: '1.41', path: '/containers/json' });
    assert.deepEqual(splitVersion('/_ping'), { version: '1.45', path: '/_ping' });
  });

  it("refuses versions out of range with Docker's words", () => {
    assert.throws(
      () => splitVersion('/v1.51/info'),
      /client version 1.51 is too new. Maximum supported API version is 1.50/,
    );
    assert.throws(() => splitVersion('/v1.12/info'), /client version 1.12 is too old/);
  });
});
