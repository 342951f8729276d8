import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { searchTarget } from './search.js';

describe('searchTarget', () => {
  it('takes a registry host from the first component, as Docker does', () => {
    assert.deepEqual(searchTarget('localhost:5000/busybox'), { host: 'localhost:5000', query: 'busybox' });
    assert.deepEqual(searchTarget('reg.example/team/app'), { host: 'reg.example', query: 'team/app' });
    assert.deepEqual(searchTarget('library/nginx'), { host: 'docker.io', query: 'library/nginx' });
    assert.deepEqual(searchTarget('nginx'), { host: 'docker.io', query: 'nginx' });
  });
});
