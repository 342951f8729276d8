// The disruption controller's status computation, from pods and their controllers' replicas.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { computeStatus, type PodController, syncPdb } from './disruption.js';

const pod = (name: string, ready: boolean, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  metadata: { name, namespace: 'ns', labels: { app: 'web' }, ...extra },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const pdb = (spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'web', namespace: 'ns', generation: 2 },
  spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  status,
});
const deploy: PodController = { uid: 'd1', replicas: 4 };
const now = Date.parse('2026-01-01T00:00:00Z');

describe('disruption status', () => {
  test('minAvailable as a number counts the selected pods', () => {
    const { status } = computeStatus(
      pdb({ minAvailable: 2 }),
      [pod('a', true), pod('b', true), pod('c', false)],
      () => undefined,
      now,
    );
    assert.deepEqual(
      [
        status.expectedPods,
        status.desiredHealthy,
        status.currentHealthy,
        status.disruptionsAllowed,
        status.observedGeneration,
      ],
      [3, 2, 2, 0, 2],
    );
    assert.equal((status.conditions as { reason: string }[])[0]?.reason, 'InsufficientPods');
  });

  test('maxUnavailable counts against the replicas the controller wants', () => {
    const { status } = computeStatus(
      pdb({ maxUnavailable: 1 }),
      [pod('a', true), pod('b', true), pod('c', true)],
      () => deploy,
      now,
    );
    assert.deepEqual([status.expectedPods, status.desiredHealthy, status.disruptionsAllowed], [4, 3, 0]);
  });

  test('a percentage rounds the desired count up', () => {
    const { status } = computeStatus(
      pdb({ minAvailable: '50%' }),
      [pod('a', true), pod('b', true), pod('c', true)],
      () => ({ uid: 'x', replicas: 3 }),
      now,
    );
    assert.deepEqual([status.desiredHealthy, status.disruptionsAllowed], [2, 1]);
    assert.equal((status.conditions as { status: string; reason: string }[])[0]?.reason, 'SufficientPods');
  });

  test('pods without a controller under a percentage allow nothing and say why', () => {
    const r = computeStatus(pdb({ maxUnavailable: '10%' }), [pod('a', true)], () => undefined, now);
    assert.equal(r.status.disruptionsAllowed, 0);
    assert.match(r.problem ?? '', /found no controllers for pod "a"/);
  });

  test('a recent eviction counts the pod as unhealthy until it is gone or two minutes pass', () => {
    const recent = new Date(now - 30_000).toISOString();
    const old = new Date(now - 5 * 60_000).toISOString();
    const r = computeStatus(
      pdb({ minAvailable: 1 }, { disruptedPods: { a: recent, b: old, gone: recent } }),
      [pod('a', true), pod('b', true)],
      () => undefined,
      now,
    );
    assert.deepEqual(r.status.disruptedPods, { a: recent });
    assert.equal(r.status.currentHealthy, 1);
    assert.equal(r.recheckInMs, 90_000);
  });

  test('a sync writes status only when it changed', async () => {
    const writes: KubeObject[] = [];
    const caches = { getPdb: () => current, podsIn: () => [pod('a', true)], controllerOf: () => undefined };
    let current = pdb({ minAvailable: 1 });
    await syncPdb('ns/web', caches, { updateStatus: async (o) => writes.push(o) });
    assert.equal(writes.length, 1);
    current = writes[0]!;
    await syncPdb('ns/web', caches, { updateStatus: async (o) => writes.push(o) });
    assert.equal(writes.length, 1);
  });
});
