import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Expectations } from '../client/expectations.js';
import type { KubeObject } from '../client/kube-client.js';
import { formatIndexes, INDEX, syncJob } from './job.js';

const job = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'j', namespace: 'default', uid: 'j-uid' },
  spec: {
    backoffLimit: 6,
    parallelism: 2,
    completions: 4,
    template: { spec: { containers: [{ name: 'c' }] } },
    ...spec,
  },
  status,
});
const pod = (name: string, phase: string, index?: number): KubeObject => ({
  metadata: {
    name,
    namespace: 'default',
    creationTimestamp: `2026-01-01T00:00:0${name.length}Z`,
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'j-uid', controller: true }],
    ...(index !== undefined ? { annotations: { [INDEX]: String(index) } } : {}),
  },
  status: { phase },
});

function run(j: KubeObject, pods: KubeObject[]) {
  const log: string[] = [];
  let status: KubeObject['status'];
  const act = {
    createPod: async (_ns: string, p: KubeObject) => {
      log.push(`create ${p.metadata.generateName}${p.metadata.annotations?.[INDEX] ?? ''}`);
      return { metadata: { name: 'x' } };
    },
    deletePod: async (_ns: string, n: string) => log.push(`delete ${n}`),
    updateStatus: async (o: KubeObject) => {
      status = o.status;
    },
    deleteJob: async () => log.push('delete job'),
    requeueAfter: () => {},
  };
  return syncJob('default/j', { getJob: () => j, podsOf: () => pods }, act, new Expectations()).then(() => ({
    log,
    status,
  }));
}

test('parallelism bounds the running pods; completions end the Job', async () => {
  let r = await run(job({}), []);
  assert.deepEqual(r.log, ['create j-', 'create j-']);
  r = await run(job({}), [
    pod('a', 'Succeeded'),
    pod('bb', 'Succeeded'),
    pod('ccc', 'Succeeded'),
    pod('dddd', 'Running'),
  ]);
  assert.deepEqual(r.log, [], 'one left to finish, one running: nothing to start');
  r = await run(job({}), [
    pod('a', 'Succeeded'),
    pod('bb', 'Succeeded'),
    pod('ccc', 'Succeeded'),
    pod('dddd', 'Succeeded'),
  ]);
  const types = (r.status?.conditions ?? []).map((c: { type: string }) => c.type);
  assert.deepEqual(types, ['SuccessCriteriaMet', 'Complete']);
  assert.equal(r.status?.succeeded, 4);
  assert.ok(r.status?.completionTime);
});

test('failures beyond backoffLimit fail the Job and stop its pods', async () => {
  const r = await run(job({ backoffLimit: 1 }), [
    pod('a', 'Failed'),
    pod('bb', 'Failed'),
    pod('ccc', 'Running'),
  ]);
  assert.deepEqual(r.log, ['delete ccc']);
  const failed = (r.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Failed');
  assert.equal(failed?.reason, 'BackoffLimitExceeded');
});

test('Indexed: each missing index gets a pod, and completedIndexes is written', async () => {
  const r = await run(job({ completionMode: 'Indexed', parallelism: 3 }), [
    pod('a', 'Succeeded', 0),
    pod('bb', 'Running', 2),
  ]);
  assert.deepEqual(r.log, ['create j-1-1', 'create j-3-3']);
  assert.equal(r.status?.completedIndexes, '0');
  assert.equal(formatIndexes([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
});

test('a podFailurePolicy Ignore rule does not count a failure; FailJob fails at once', async () => {
  const policy = (action: string) => ({
    backoffLimit: 0,
    podFailurePolicy: { rules: [{ action, onPodConditions: [{ type: 'DisruptionTarget' }] }] },
  });
  const disrupted = pod('a', 'Failed');
  disrupted.status.conditions = [{ type: 'DisruptionTarget', status: 'True' }];
  let r = await run(job(policy('Ignore')), [disrupted]);
  assert.ok(!(r.status?.conditions ?? []).some((c: { type: string }) => c.type === 'Failed'));
  r = await run(job(policy('FailJob')), [disrupted]);
  assert.equal(
    (r.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Failed')?.reason,
    'PodFailurePolicy',
  );
});
