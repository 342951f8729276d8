import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateFields } from './json-duplicates.js';

test('duplicate keys are found with their paths, escapes and strings that look like JSON included', () => {
  assert.deepEqual(duplicateFields('{"a":1,"b":{"c":"x","c":"y"},"a":2}'), ['b.c', 'a']);
  assert.deepEqual(duplicateFields('{"spec":{"containers":[{"name":"a"},{"name":"b", "name" : "c"}]}}'), [
    'spec.containers[1].name',
  ]);
  assert.deepEqual(duplicateFields('{"k\\u0031":1,"k1":2,"s":"\\"k1\\": {,[","t":"\\\\"}'), ['k1']);
  assert.deepEqual(duplicateFields('[{"a":1},{"a":1}]'), []);
  assert.deepEqual(duplicateFields('{"a":{"x":1},"b":{"x":1}}'), []);
});
