import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseYaml } from './yaml-options.js';

test('a key repeated in a YAML map keeps its last value and is described by line', () => {
  const text = 'kind: ConfigMap\nmetadata:\n  name: a\n  name: b\ndata:\n  x: "1"\nitems:\n- {k: 1, k: 2}\n';
  const { value, duplicates } = parseYaml(text);
  assert.deepEqual(value, {
    kind: 'ConfigMap',
    metadata: { name: 'b' },
    data: { x: '1' },
    items: [{ k: 2 }],
  });
  assert.deepEqual(duplicates, [
    'line 4: key "name" already set in map',
    'line 8: key "k" already set in map',
  ]);
});

test('the same key in different maps is no duplicate; syntax errors throw', () => {
  assert.deepEqual(parseYaml('a: {name: x}\nb: {name: y}\n').duplicates, []);
  assert.throws(() => parseYaml('a: [\n'));
});
