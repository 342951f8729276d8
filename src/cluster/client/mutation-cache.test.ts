import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from './kube-client.js';
import { MutationCache } from './mutation-cache.js';

const rs = (rv: string, uid = 'u1', replicas = 0): KubeObject => ({
  metadata: { name: 'web', namespace: 'default', uid, resourceVersion: rv },
  status: { replicas },
});

test("an object's own write is read back until the informer shows it, then the informer's copy", () => {
  const cache = new Map<string, KubeObject>([['default/web', rs('5')]]);
  const m = new MutationCache({ get: (k) => cache.get(k) });
  assert.equal(m.get('default/web')?.metadata.resourceVersion, '5');
  m.mutated(rs('7', 'u1', 3));
  // The watch has not delivered revision 7 yet: the written copy is the newer one.
  assert.deepEqual(m.get('default/web')?.status, { replicas: 3 });
  // The informer caught up (and moved past): its copy again, and the written one is forgotten.
  cache.set('default/web', rs('9', 'u1', 4));
  assert.deepEqual(m.get('default/web')?.status, { replicas: 4 });
  cache.set('default/web', rs('5'));
  assert.equal(m.get('default/web')?.metadata.resourceVersion, '5');
});

test('a written copy does not outlive its object, nor stand for a new object of the same name', () => {
  const cache = new Map<string, KubeObject>([['default/web', rs('5')]]);
  const m = new MutationCache({ get: (k) => cache.get(k) });
  m.mutated(rs('7'));
  cache.delete('default/web');
  assert.equal(m.get('default/web'), undefined);
  m.mutated(rs('9'));
  cache.set('default/web', rs('8', 'u2'));
  assert.equal(m.get('default/web')?.metadata.uid, 'u2');
});
