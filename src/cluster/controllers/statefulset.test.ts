import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { templateHash } from './deployment.js';
import { REVISION_LABEL, syncStatefulSet } from './statefulset.js';

const template = {
  metadata: { labels: { app: 'db' } },
  spec: { containers: [{ name: 'c', image: 'db:1' }] },
};
const rev = `db-${templateHash(template)}`;
const set = (extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'db', namespace: 'default', uid: 's-uid', generation: 1 },
  spec: { replicas: 3, selector: { matchLabels: { app: 'db' } }, template, ...extra },
});
const pod = (i: number, ready: boolean, revision = rev): KubeObject => ({
  metadata: { name: `db-${i}`, namespace: 'default', labels: { [REVISION_LABEL]: revision } },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

async function run(s: KubeObject, pods: KubeObject[]) {
  const log: string[] = [];
  const act = {
    createPod: async (_ns: string, p: KubeObject) => log.push(`create ${p.metadata.name}`),
    deletePod: async (_ns: string, n: string) => log.push(`delete ${n}`),
    createClaim: async (_ns: string, c: KubeObject) => log.push(`claim ${c.metadata.name}`),
    deleteClaim: async () => 0,
    createRevision: async () => 0,
    updateRevision: async () => 0,
    deleteRevision: async () => 0,
    updateStatus: async () => 0,
  };
  await syncStatefulSet(
    'default/db',
    { getSet: () => s, podsOf: () => pods, revisionsOf: () => [], claim: () => undefined },
    act,
  );
  return log;
}

test('OrderedReady: one pod at a time, after the previous is ready; Parallel: all at once', async () => {
  assert.deepEqual(await run(set(), []), ['create db-0']);
  assert.deepEqual(await run(set(), [pod(0, false)]), []);
  assert.deepEqual(await run(set(), [pod(0, true)]), ['create db-1']);
  assert.deepEqual(await run(set({ podManagementPolicy: 'Parallel' }), []), [
    'create db-0',
    'create db-1',
    'create db-2',
  ]);
});

test('claims come before their pod; scale down takes the highest ordinal first', async () => {
  const claims = set({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }] });
  assert.deepEqual(await run(claims, []), ['claim data-db-0', 'create db-0']);
  assert.deepEqual(await run(set({ replicas: 1 }), [pod(0, true), pod(1, true), pod(2, true)]), [
    'delete db-2',
  ]);
});

test('rolling update: the highest old pod at or above the partition goes first', async () => {
  const old = 'db-old';
  assert.deepEqual(await run(set(), [pod(0, true, old), pod(1, true, old), pod(2, true, old)]), [
    'delete db-2',
  ]);
  const part = set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
  assert.deepEqual(await run(part, [pod(0, true, old), pod(1, true, old), pod(2, true)]), []);
});
