// The eviction subresource over the in-memory store: what a budget's status allows, and what it records.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ResourceRegistry } from '../api/resources.js';
import { ApiError } from '../api/status.js';
import { memoryStore } from '../store/memory.js';
import { evictPod } from './eviction.js';
import { RestStorage } from './rest.js';

const reg = new ResourceRegistry();
const pods = reg.get('', 'v1', 'pods')!;
const pdbs = reg.get('policy', 'v1', 'poddisruptionbudgets')!;
const ns = 'default';

describe('pods/eviction', () => {
  let rest: RestStorage;
  beforeEach(async () => {
    rest = new RestStorage(memoryStore());
    await rest.ensure(reg.get('', 'v1', 'namespaces')!, undefined, { metadata: { name: ns } });
    // ServiceAccount admission wants the account a pod runs as.
    await rest.ensure(reg.get('', 'v1', 'serviceaccounts')!, ns, { metadata: { name: 'default' } });
    for (const name of ['a', 'b']) {
      await rest.create(
        pods,
        ns,
        { metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        {},
      );
      await rest.update(
        pods,
        ns,
        name,
        {
          metadata: { name },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
        },
        { subresource: 'status' },
      );
    }
  });
  const budget = async (status: Record<string, unknown>) => {
    await rest.create(
      pdbs,
      ns,
      { metadata: { name: 'web' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'web' } } } },
      {},
    );
    await rest.update(
      pdbs,
      ns,
      'web',
      { metadata: { name: 'web' }, status: { observedGeneration: 1, ...status } },
      { subresource: 'status' },
    );
  };
  const evict = (name: string) => evictPod(rest, reg, pods, ns, name, { metadata: { name } }, false);

  test('a pod no budget covers is deleted', async () => {
    await evict('a');
    await assert.rejects(rest.get(pods, ns, 'a'), /not found/);
  });

  test('a budget with no disruption allowed answers 429 with the DisruptionBudget cause and keeps the pod', async () => {
    await budget({ disruptionsAllowed: 0, desiredHealthy: 2, currentHealthy: 2 });
    await assert.rejects(evict('a'), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.httpCode, 429);
      assert.equal(e.reason, 'TooManyRequests');
      assert.equal(e.message, "Cannot evict pod as it would violate the pod's disruption budget.");
      assert.deepEqual(e.statusDetails?.causes, [
        {
          reason: 'DisruptionBudget',
          message: 'The disruption budget web needs 2 healthy pods and has 2 currently',
        },
      ]);
      return true;
    });
    assert.equal((await rest.get(pods, ns, 'a')).metadata?.name, 'a');
  });

  test('a budget not yet seen by the controller is still being processed', async () => {
    await rest.create(pdbs, ns, { metadata: { name: 'web' }, spec: { minAvailable: 1, selector: {} } }, {});
    await assert.rejects(evict('a'), /Cannot evict pod/);
  });

  test('an allowed eviction spends the budget and records the pod; the next one is refused', async () => {
    await budget({ disruptionsAllowed: 1, desiredHealthy: 1, currentHealthy: 2 });
    await evict('a');
    await assert.rejects(rest.get(pods, ns, 'a'), /not found/);
    const st = (await rest.get(pdbs, ns, 'web')).status as {
      disruptionsAllowed: number;
      disruptedPods: Record<string, string>;
    };
    assert.equal(st.disruptionsAllowed, 0);
    assert.deepEqual(Object.keys(st.disruptedPods), ['a']);
    await assert.rejects(evict('b'), /Cannot evict pod/);
  });

  test('two budgets over one pod are refused as upstream refuses them', async () => {
    await budget({ disruptionsAllowed: 1 });
    await rest.create(pdbs, ns, { metadata: { name: 'all' }, spec: { maxUnavailable: 1, selector: {} } }, {});
    await assert.rejects(evict('a'), /more than one PodDisruptionBudget/);
  });

  test('a name that differs from the URL is a bad request', async () => {
    await assert.rejects(
      evictPod(rest, reg, pods, ns, 'a', { metadata: { name: 'b' } }, false),
      /does not match/,
    );
  });
});
