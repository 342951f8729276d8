import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringifyDeep, toJson } from './json-stringify.js';

test('the loop writes what JSON.stringify writes', () => {
  for (const v of [
    { a: [1, 'x"y', null, { b: true, c: undefined }], d: {}, e: [], f: [undefined, 2], 'k"': 1.5 },
    [],
    'text',
    0,
    null,
  ])
    assert.equal(stringifyDeep(v), JSON.stringify(v));
});

test('data too deep for JSON.stringify is written by the loop', () => {
  const text = `{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  assert.equal(toJson(JSON.parse(text)), text);
});
