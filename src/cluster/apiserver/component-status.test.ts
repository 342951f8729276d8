import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../api/selectors.js';
import { ComponentStatuses } from './component-status.js';

const now = Date.parse('2026-01-01T00:00:30Z');
const lease = (renewTime: string) =>
  ({
    metadata: { name: 'l' },
    spec: { holderIdentity: 'me', renewTime, leaseDurationSeconds: 15 },
  }) as KubeObject;
const healthy = (o: KubeObject) => (o.conditions as { status: string }[])[0]?.status;

test('the control plane is healthy while its Lease is fresh; etcd-0 while the datastore answers', async () => {
  const ok = new ComponentStatuses({
    lease: async () => lease('2026-01-01T00:00:25Z'),
    datastore: async () => {},
    now: () => now,
  });
  assert.deepEqual((await ok.list()).map(healthy), ['True', 'True', 'True']);
  const stale = new ComponentStatuses({
    lease: async () => lease('2026-01-01T00:00:01Z'),
    datastore: async () => {
      throw new Error('database is locked');
    },
    now: () => now,
  });
  const [scheduler, , etcd] = await stale.list();
  assert.equal(healthy(scheduler!), 'False');
  assert.match(String((etcd!.conditions as { error: string }[])[0]?.error), /database is locked/);
  await assert.rejects(ok.get('nosuch'), /componentstatuses "nosuch" not found/);
});
