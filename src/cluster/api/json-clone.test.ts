import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneJson } from './json-clone.js';

test('a deep copy equal to the original, sharing nothing, at any depth', () => {
  const o = { a: [1, { b: 'x', c: null }, [true]], d: { e: 2 } };
  const c = cloneJson(o);
  assert.deepEqual(c, o);
  assert.notEqual(c.a, o.a);
  assert.notEqual(c.a[1], o.a[1]);
  const deep = JSON.parse(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
  let n = 0;
  for (let v = cloneJson(deep); Array.isArray(v) && v !== deep; v = v[0]) n++;
  assert.equal(n, 10_000);
  assert.equal(cloneJson(7), 7);
});
