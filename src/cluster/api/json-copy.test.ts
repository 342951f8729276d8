import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonCopy } from './json-copy.js';

const viaText = (v: unknown) => JSON.parse(JSON.stringify(v));

test('jsonCopy gives what a trip through JSON text gives', () => {
  const values: unknown[] = [
    { a: 1, b: 'x', c: true, d: null, e: undefined, f: () => 1, g: Symbol('s') },
    [1, undefined, () => 1, null, Number.NaN, Number.POSITIVE_INFINITY, -0],
    { when: new Date(0), nested: { list: [{ x: [[]] }, {}], n: 1.5 } },
    { custom: { toJSON: () => ({ as: 'json' }) } },
    'text',
    42,
  ];
  for (const v of values) assert.deepEqual(jsonCopy(v), viaText(v));
});

test('jsonCopy shares nothing with its input', () => {
  const v = { spec: { containers: [{ name: 'a', env: [{ name: 'X' }] }] } };
  const c = jsonCopy(v);
  c.spec.containers[0]!.env[0]!.name = 'Y';
  assert.equal(v.spec.containers[0]!.env[0]!.name, 'X');
});

test('jsonCopy copies nesting too deep for its recursion', () => {
  let deep: unknown = {};
  for (let i = 0; i < 20_000; i++) deep = { d: deep };
  let depth = 0;
  for (let o = jsonCopy(deep) as { d?: unknown }; o.d; o = o.d as { d?: unknown }) depth++;
  assert.equal(depth, 20_000);
});
