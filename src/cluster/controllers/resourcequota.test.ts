import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { type QuotaSightings, settleMs, syncResourceQuota } from './resourcequota.js';

const quota = (hard: Record<string, string>, status?: Record<string, unknown>): KubeObject => ({
  metadata: { name: 'q', namespace: 'ns', resourceVersion: '7' },
  spec: { hard },
  ...(status ? { status } : {}),
});
const podWith = (phase: string, cpu: string): KubeObject => ({
  metadata: { name: phase, namespace: 'ns' },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }] },
  status: { phase },
});

function recorder(objects: Record<string, KubeObject[]>) {
  const written: KubeObject[] = [];
  const listed: string[] = [];
  const requeued: number[] = [];
  const clock = { now: 1_000 };
  const seen: QuotaSightings = new Map();
  return {
    written,
    listed,
    requeued,
    clock,
    sync: (q: KubeObject | undefined) =>
      syncResourceQuota(
        'ns/q',
        q,
        {
          list: async (group, plural, ns) => {
            listed.push(`${plural}.${group}/${ns}`);
            return objects[plural] ?? [];
          },
          updateStatus: async (o) => written.push(o),
          requeueAfter: (_k, ms) => requeued.push(ms),
          now: () => clock.now,
        },
        seen,
      ),
  };
}

test('used is recomputed from the real objects; finished pods count for nothing', async () => {
  const r = recorder({
    pods: [podWith('Running', '500m'), podWith('Succeeded', '1'), podWith('Pending', '250m')],
    deployments: [{ metadata: { name: 'd' } }],
  });
  await r.sync(quota({ pods: '5', 'requests.cpu': '2', 'count/deployments.apps': '3' }));
  assert.deepEqual(r.listed.sort(), ['deployments.apps/ns', 'pods./ns']);
  assert.equal(r.written.length, 1);
  assert.deepEqual(r.written[0]?.status, {
    hard: { pods: '5', 'requests.cpu': '2', 'count/deployments.apps': '3' },
    used: { 'count/deployments.apps': '1', pods: '2', 'requests.cpu': '750m' },
  });
  assert.equal(r.written[0]?.metadata.resourceVersion, '7', 'written against the version read');
});

test('usage is lowered only once the quota has stayed unchanged for a while', async () => {
  const r = recorder({ pods: [podWith('Running', '1')] });
  const charged = quota({ pods: '5' }, { hard: { pods: '5' }, used: { pods: '3' } });
  await r.sync(charged);
  // Two of the three may be charged writes not stored yet: keep them, look again later.
  assert.equal(r.written.length, 0);
  assert.deepEqual(r.requeued, [settleMs]);
  r.clock.now += settleMs;
  await r.sync(charged);
  assert.deepEqual(r.written[0]?.status.used, { pods: '1' });
});

test('a quota whose status is already right is not written', async () => {
  const r = recorder({ configmaps: [{ metadata: { name: 'a' } }] });
  await r.sync(quota({ configmaps: '2' }, { hard: { configmaps: '2' }, used: { configmaps: '1' } }));
  assert.equal(r.written.length, 0);
  await r.sync(undefined);
  assert.equal(r.written.length, 0);
});
