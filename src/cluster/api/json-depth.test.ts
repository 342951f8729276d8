import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonDepth } from './json-depth.js';

test('depth counts brackets outside strings only', () => {
  assert.equal(jsonDepth('{"a":[1,{"b":"[[[{"}]}'), 3);
  assert.equal(jsonDepth('{"a":"\\"[["}'), 1);
  assert.equal(jsonDepth('7'), 0);
  assert.equal(jsonDepth(`${'['.repeat(10_001)}${']'.repeat(10_001)}`), 10_001);
});
