import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';

test('merge patch deletes with null and replaces lists', () => {
  assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1] }, { b: { c: null }, l: [2] }), {
    a: 1,
    b: { d: 3 },
    l: [2],
  });
});

test('json patch ops', () => {
  const doc = { spec: { replicas: 1, list: ['a'] }, metadata: { labels: { x: '1' } } };
  const out = jsonPatch(doc, [
    { op: 'replace', path: '/spec/replicas', value: 3 },
    { op: 'add', path: '/spec/list/-', value: 'b' },
    { op: 'remove', path: '/metadata/labels/x' },
    { op: 'add', path: '/metadata/labels/a~1b', value: 'y' },
    { op: 'test', path: '/spec/replicas', value: 3 },
  ]);
  assert.deepEqual(out, { spec: { replicas: 3, list: ['a', 'b'] }, metadata: { labels: { 'a/b': 'y' } } });
  assert.equal(doc.spec.replicas, 1);
  assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }]), /missing path/);
});

test('strategic merge merges containers by name and honours directives', () => {
  const pod = {
    spec: {
      containers: [
        { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }] },
        { name: 'b', image: 'b:1' },
      ],
    },
  };
  const out = strategicMerge(pod, {
    spec: {
      containers: [
        { name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }] },
        { name: 'b', $patch: 'delete' },
        { name: 'c', image: 'c:1' },
      ],
    },
  }) as typeof pod;
  assert.deepEqual(out.spec.containers, [
    {
      name: 'a',
      image: 'a:2',
      env: [
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ],
    },
    { name: 'c', image: 'c:1' },
  ]);
  const ordered = strategicMerge(pod, {
    spec: {
      '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }],
      containers: [{ name: 'b', image: 'b:2' }],
    },
  }) as typeof pod;
  assert.deepEqual(
    ordered.spec.containers.map((c) => `${c.name}=${c.image}`),
    ['b=b:2', 'a=a:1'],
  );
  const replaced = strategicMerge(pod, { spec: { $patch: 'replace', x: 1 } });
  assert.deepEqual(replaced, { spec: { x: 1 } });
});
