import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duplicateFields, duplicateFieldsOf } from './json-duplicates.js';

test('duplicate keys are found with their paths, escapes and strings that look like JSON included', () => {
  assert.deepEqual(duplicateFields('{"a":1,"b":{"c":"x","c":"y"},"a":2}'), ['b.c', 'a']);
  assert.deepEqual(duplicateFields('{"spec":{"containers":[{"name":"a"},{"name":"b", "name" : "c"}]}}'), [
    'spec.containers[1].name',
  ]);
  assert.deepEqual(duplicateFields('{"k\\u0031":1,"k1":2,"s":"\\"k1\\": {,[","t":"\\\\"}'), ['k1']);
  assert.deepEqual(duplicateFields('[{"a":1},{"a":1}]'), []);
  assert.deepEqual(duplicateFields('{"a":{"x":1},"b":{"x":1}}'), []);
});

test('a text as JSON.stringify writes its value has no repeats; any other text is scanned', () => {
  const of = (text: string) => duplicateFieldsOf(text, JSON.parse(text));
  assert.deepEqual(of(JSON.stringify({ a: 1, b: { c: [{ d: 'x' }] } })), []);
  assert.deepEqual(of('{"a":1,"b":{"c":"x","c":"y"},"a":2}'), ['b.c', 'a']);
  assert.deepEqual(of('{ "a": 1, "a": 2 }'), ['a']);
  assert.deepEqual(of('{"a":1,"b":2}\n'), []);
  // A value JSON.stringify cannot write for its depth is scanned too.
  const deep = `{"a":1,"a":2,"b":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
  assert.deepEqual(of(deep), ['a']);
});
