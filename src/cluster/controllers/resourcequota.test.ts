import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { syncResourceQuota } from './resourcequota.js';

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
  return {
    written,
    listed,
    act: {
      list: async (group: string, plural: string, ns: string) => {
        listed.push(`${plural}.${group}/${ns}`);
        return objects[plural] ?? [];
      },
      updateStatus: async (o: KubeObject) => written.push(o),
    },
  };
}

test('used is recomputed from the real objects; finished pods count for nothing', async () => {
  const r = recorder({
    pods: [podWith('Running', '500m'), podWith('Succeeded', '1'), podWith('Pending', '250m')],
    deployments: [{ metadata: { name: 'd' } }],
  });
  await syncResourceQuota(
    quota({ pods: '5', 'requests.cpu': '2', 'count/deployments.apps': '3' }, { used: { pods: '9' } }),
    r.act,
  );
  assert.deepEqual(r.listed.sort(), ['deployments.apps/ns', 'pods./ns']);
  assert.equal(r.written.length, 1);
  assert.deepEqual(r.written[0]?.status, {
    hard: { pods: '5', 'requests.cpu': '2', 'count/deployments.apps': '3' },
    used: { 'count/deployments.apps': '1', pods: '2', 'requests.cpu': '750m' },
  });
  assert.equal(r.written[0]?.metadata.resourceVersion, '7', 'written against the version read');
});

test('a quota whose status is already right is not written', async () => {
  const r = recorder({ configmaps: [{ metadata: { name: 'a' } }] });
  await syncResourceQuota(
    quota({ configmaps: '2' }, { hard: { configmaps: '2' }, used: { configmaps: '1' } }),
    r.act,
  );
  assert.equal(r.written.length, 0);
  await syncResourceQuota(undefined, r.act);
  assert.equal(r.written.length, 0);
});
