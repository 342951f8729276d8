import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { EvictionManager } from './manager.js';
import type { PodUsage } from './rank.js';
import type { Observations } from './signals.js';
import { parseEvictionHard } from './thresholds.js';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;
const pod = (name: string, requests: Record<string, string> = {}, priority = 0): KubeObject => ({
  metadata: { name, namespace: 'default', uid: name },
  spec: { priority, containers: [{ name: 'main', resources: { requests } }] },
});

function harness(obs: () => Observations, pods: KubeObject[], usage: Record<string, PodUsage>) {
  let clock = 1_000_000;
  const evicted: { name: string; message: string }[] = [];
  let reclaims = 0;
  const m = new EvictionManager({
    thresholds: parseEvictionHard('nodefs.available<50%'),
    observe: obs,
    activePods: () => pods.filter((p) => !evicted.some((e) => e.name === p.metadata.name)),
    usage: async (p) => usage[p.metadata.name ?? ''],
    reclaimDisk: async () => {
      reclaims++;
    },
    evict: async (p, message) => {
      evicted.push({ name: p.metadata.name ?? '', message });
    },
    now: () => clock,
  });
  return { m, evicted, reclaims: () => reclaims, advance: (ms: number) => (clock += ms) };
}

const fine = (): Observations => ({
  'memory.available': { available: 4 * Gi, capacity: 8 * Gi },
  'nodefs.available': { available: 80 * Gi, capacity: 100 * Gi },
  'imagefs.available': { available: 80 * Gi, capacity: 100 * Gi },
});

test('no threshold met: no condition, no reclaim, no eviction', async () => {
  const h = harness(fine, [pod('a')], {});
  assert.equal(await h.m.synchronize(), undefined);
  assert.deepEqual(h.m.conditions(), { memory: false, disk: false });
  assert.equal(h.reclaims(), 0);
});

test('disk pressure: images first, then one pod per pass in rank order, with the kubelet message', async () => {
  const full = (): Observations => ({
    ...fine(),
    'nodefs.available': { available: 10 * Gi, capacity: 100 * Gi },
  });
  const guaranteed = pod('guaranteed', { 'ephemeral-storage': '1Gi', memory: '64Mi', cpu: '100m' });
  const besteffort = pod('besteffort');
  const critical = pod('critical', {}, 2_000_000_000);
  const h = harness(full, [guaranteed, besteffort, critical], {
    guaranteed: { containers: [{ name: 'main', disk: 4096 }] },
    besteffort: { containers: [{ name: 'main', disk: 8192 }] },
    critical: { containers: [{ name: 'main', disk: 10 * Gi }] },
  });
  assert.equal((await h.m.synchronize())?.metadata.name, 'besteffort');
  assert.equal(h.reclaims(), 1);
  assert.deepEqual(h.m.conditions(), { memory: false, disk: true });
  assert.equal(
    h.evicted[0]?.message,
    'The node was low on resource: ephemeral-storage. Threshold quantity: 50Gi, available: 10Gi. ' +
      'Container main was using 8Ki, request is 0, has larger consumption of ephemeral-storage. ',
  );
  assert.equal((await h.m.synchronize())?.metadata.name, 'guaranteed');
  assert.equal(await h.m.synchronize(), undefined, 'a critical pod is never evicted');
});

test('disk freed by reclaiming images evicts nothing; the condition stays for the transition period', async () => {
  let free = 10;
  let clock = 0;
  const m = new EvictionManager({
    thresholds: parseEvictionHard('nodefs.available<50%'),
    observe: () => ({ ...fine(), 'nodefs.available': { available: free * Gi, capacity: 100 * Gi } }),
    activePods: () => [pod('a')],
    usage: async () => undefined,
    reclaimDisk: async () => {
      free = 60;
    },
    evict: async () => assert.fail('nothing should be evicted'),
    now: () => clock,
    transitionMs: 300_000,
  });
  assert.equal(await m.synchronize(), undefined);
  assert.deepEqual(m.conditions(), { memory: false, disk: true });
  clock = 299_000;
  await m.synchronize();
  assert.deepEqual(m.conditions(), { memory: false, disk: true }, 'still within the transition period');
  clock = 300_000;
  await m.synchronize();
  assert.deepEqual(m.conditions(), { memory: false, disk: false });
});
