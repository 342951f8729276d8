import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../api/selectors.js';
import { MetricsApi, metricsResources, type NodeSummary } from './metrics-api.js';

const [nodesR, podsR] = metricsResources as [(typeof metricsResources)[0], (typeof metricsResources)[0]];

function api(summary: NodeSummary) {
  const calls: string[] = [];
  const node: KubeObject = { metadata: { name: 'n1', labels: { role: 'x' } } };
  const pods: KubeObject[] = [
    {
      metadata: { name: 'a', namespace: 'ns', uid: 'ua', labels: { app: 'a' } },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running' },
    },
    {
      metadata: { name: 'b', namespace: 'ns', uid: 'ub' },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running' },
    },
  ];
  const m = new MetricsApi({
    now: () => Date.parse('2026-01-01T00:00:00Z'),
    nodes: async () => [node],
    pods: async (ns) => pods.filter((p) => !ns || p.metadata?.namespace === ns),
    summary: async (n) => {
      calls.push(String(n.metadata?.name));
      return summary;
    },
  });
  return { m, calls };
}

const summary: NodeSummary = {
  node: {
    cpu: { time: '2026-01-01T00:00:00Z', usageNanoCores: 250_000_000 },
    memory: { workingSetBytes: 2 * 1024 ** 3 },
  },
  pods: [
    {
      podRef: { name: 'a', namespace: 'ns', uid: 'ua' },
      containers: [{ name: 'c', cpu: { usageNanoCores: 1_500_000 }, memory: { workingSetBytes: 4096 } }],
    },
    // b has its first sample only: no rate yet, so no metrics (metrics-server leaves it out).
    {
      podRef: { name: 'b', namespace: 'ns', uid: 'ub' },
      containers: [{ name: 'c', cpu: {}, memory: { workingSetBytes: 1 } }],
    },
  ],
};

test('NodeMetrics and PodMetrics in metrics-server shapes, from one summary per node', async () => {
  const { m, calls } = api(summary);
  const nodes = (await m.get(nodesR, undefined, undefined, new URLSearchParams())) as {
    kind: string;
    items: unknown[];
  };
  assert.equal(nodes.kind, 'NodeMetricsList');
  assert.deepEqual(nodes.items, [
    {
      kind: 'NodeMetrics',
      apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: 'n1', creationTimestamp: '2026-01-01T00:00:00Z', labels: { role: 'x' } },
      timestamp: '2026-01-01T00:00:00Z',
      window: '10s',
      usage: { cpu: '250000000n', memory: '2097152Ki' },
    },
  ]);
  const pods = (await m.get(podsR, 'ns', undefined, new URLSearchParams())) as {
    items: { metadata: { name: string }; containers: unknown }[];
  };
  assert.deepEqual(
    pods.items.map((p) => p.metadata.name),
    ['a'],
  );
  assert.deepEqual(pods.items[0]?.containers, [{ name: 'c', usage: { cpu: '1500000n', memory: '4Ki' } }]);
  assert.deepEqual(calls, ['n1'], 'the summary is fetched once for both requests');
});

test('by name: the object, or NotFound in metrics-server words', async () => {
  const { m } = api(summary);
  const a = (await m.get(podsR, 'ns', 'a', new URLSearchParams())) as { kind: string };
  assert.equal(a.kind, 'PodMetrics');
  await assert.rejects(
    m.get(podsR, 'ns', 'b', new URLSearchParams()),
    /podmetrics.metrics.k8s.io "b" not found/,
  );
  await assert.rejects(
    m.get(nodesR, undefined, 'n2', new URLSearchParams()),
    /nodemetrics.metrics.k8s.io "n2" not found/,
  );
});
