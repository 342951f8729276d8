import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asStored, decode, encode } from './objects.js';
import type { KubeObject } from './selectors.js';

test('a written object reads back as decoding what was stored would give it, without parsing it', () => {
  const o: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', resourceVersion: '7', labels: { a: 'b' } },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending' },
  };
  const kv = { key: '/registry/core/pods/default/p', value: encode(o), modRevision: 12, createRevision: 3 };
  const out = asStored(o, kv);
  assert.deepEqual(out, decode(kv));
  // Same text, keys in the same order (resourceVersion last in metadata, as decode puts it).
  assert.equal(JSON.stringify(out), JSON.stringify(decode(kv)));
  // The written object keeps its own metadata.
  assert.equal(o.metadata?.resourceVersion, '7');
});
