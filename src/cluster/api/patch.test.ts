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

test('strategic merge of thousands of keyed items merges each by key, deletes and orders', () => {
  const n = 5000;
  const env = Array.from({ length: n }, (_, i) => ({ name: `V${i}`, value: 'old' }));
  const patch = [
    ...Array.from({ length: n }, (_, i) => ({ name: `V${n - 1 - i}`, value: 'new' })),
    { name: 'V0', $patch: 'delete' },
    { name: `V${n}`, value: 'added' },
  ];
  const out = strategicMerge(
    { spec: { containers: [{ name: 'c', env }] } },
    { spec: { containers: [{ name: 'c', env: patch }] } },
  ) as { spec: { containers: { env: { name: string; value: string }[] }[] } };
  const merged = out.spec.containers[0]?.env ?? [];
  assert.equal(merged.length, n);
  assert.deepEqual(merged[0], { name: 'V1', value: 'new' });
  assert.deepEqual(merged.at(-1), { name: `V${n}`, value: 'added' });
  assert.equal(env[1]?.value, 'old', 'the input is not changed');
  const order = Array.from({ length: n }, (_, i) => ({ name: `V${n - 1 - i}` }));
  const reordered = strategicMerge({ env }, { '$setElementOrder/env': order }) as { env: { name: string }[] };
  assert.equal(reordered.env[0]?.name, `V${n - 1}`);
  assert.equal(reordered.env.at(-1)?.name, 'V0');
});

test('strategic merge keeps $retainKeys, $deleteFromPrimitiveList, set lists and $patch: replace lists', () => {
  const cur = {
    metadata: { finalizers: ['a', 'b'] },
    spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } }, args: ['x', 'y', 'z'] },
    ports: [{ containerPort: 80 }, { containerPort: 81 }],
  };
  const out = strategicMerge(cur, {
    metadata: { finalizers: ['b', 'c'] },
    spec: {
      strategy: { $retainKeys: ['type'], type: 'Recreate' },
      '$deleteFromPrimitiveList/args': ['y'],
    },
    ports: [{ containerPort: 90 }, { $patch: 'replace' }],
  });
  assert.deepEqual(out, {
    metadata: { finalizers: ['a', 'b', 'c'] },
    spec: { strategy: { type: 'Recreate' }, args: ['x', 'z'] },
    ports: [{ containerPort: 90 }],
  });
});

test('json patch is bounded: operation count and copied bytes', () => {
  const tooMany = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '', value: {} }));
  assert.throws(
    () => jsonPatch({}, tooMany),
    (e: Error & { httpCode?: number; reason?: string }) =>
      e.httpCode === 413 &&
      e.reason === 'RequestEntityTooLarge' &&
      /maximum operations.*10000, got 10001/.test(e.message),
  );
  // Each copy doubles the list: 30 of them would make a billion items.
  const bomb = [
    { op: 'add', path: '/l', value: ['x'.repeat(64)] },
    ...Array.from({ length: 30 }, () => ({ op: 'copy', from: '/l', path: '/l/-' })),
  ];
  assert.throws(
    () => jsonPatch({}, bomb),
    (e: Error & { httpCode?: number }) =>
      e.httpCode === 422 && /Unable to copy, would exceed max size/.test(e.message),
  );
  assert.deepEqual(jsonPatch({ a: [1] }, [{ op: 'copy', from: '/a', path: '/b' }]), { a: [1], b: [1] });
});

test('json patch: test compares values whatever their key order; malformed operations are 422', () => {
  const doc = { spec: { a: 1, b: { c: [1, 2] } } };
  assert.deepEqual(jsonPatch(doc, [{ op: 'test', path: '/spec', value: { b: { c: [1, 2] }, a: 1 } }]), doc);
  assert.throws(
    () => jsonPatch(doc, [{ op: 'test', path: '/spec/b', value: { c: [2, 1] } }]),
    /testing value/,
  );
  for (const bad of [7, { op: 'add', value: 1 }, { op: 'add', path: 5 }])
    assert.throws(
      () => jsonPatch(doc, [bad]),
      (e: Error & { httpCode?: number }) => e.httpCode === 422,
    );
  const proto = jsonPatch({ m: {} }, [{ op: 'add', path: '/m/__proto__', value: { polluted: true } }]) as {
    m: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(proto.m), ['__proto__']);
  assert.equal(Object.getPrototypeOf(proto.m), Object.prototype);
});

test('strategic merge of a built-in kind takes merge keys from its schema', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    spec: {
      resourceClaims: [{ name: 'a', resourceClaimName: 'x' }],
      tolerations: [{ key: 'k1', operator: 'Exists' }],
      containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }] }],
    },
  };
  const patch = {
    spec: {
      resourceClaims: [{ name: 'b', resourceClaimName: 'y' }],
      tolerations: [{ key: 'k2', operator: 'Exists' }],
      containers: [{ name: 'c', ports: [{ containerPort: 81 }] }],
    },
  };
  // The schema merges resource claims by name and container ports by containerPort, and
  // replaces tolerations (atomic).
  assert.deepEqual(strategicMerge(pod, patch, 'core.v1.Pod'), {
    ...pod,
    spec: {
      resourceClaims: [
        { name: 'a', resourceClaimName: 'x' },
        { name: 'b', resourceClaimName: 'y' },
      ],
      tolerations: [{ key: 'k2', operator: 'Exists' }],
      containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }, { containerPort: 81 }] }],
    },
  });
  // Without a schema (a custom resource) only lists named as the built-ins' are merged.
  const untyped = strategicMerge(pod, patch) as typeof pod;
  assert.deepEqual(untyped.spec.resourceClaims, [{ name: 'b', resourceClaimName: 'y' }]);
  // A node's images are atomic in the schema: a patch replaces them.
  const node = { status: { images: [{ names: ['a'], sizeBytes: 1 }] } };
  const images = { status: { images: [{ names: ['b'], sizeBytes: 2 }] } };
  assert.deepEqual(strategicMerge(node, images, 'core.v1.Node'), images);
});
