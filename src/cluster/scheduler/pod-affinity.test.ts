import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { nodeAffinityMatches, preferredNodeScore } from './node-affinity.js';
import { InterPod } from './pod-affinity.js';

const node = (name: string, zone: string): KubeObject => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, zone } },
});
const pod = (app: string, spec: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: `${app}-x`, namespace: 'default', labels: { app } },
  spec,
});
const nodes = [node('n1', 'a'), node('n2', 'a'), node('n3', 'b')];
const host = 'kubernetes.io/hostname';

test('required anti-affinity keeps one per host; required affinity follows its peer', () => {
  const anti = {
    affinity: {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: host },
        ],
      },
    },
  };
  const placed = [{ pod: pod('web', anti), node: nodes[0]! }];
  const ip = new InterPod(pod('web', anti), placed, nodes, placed);
  assert.equal(ip.unfit(nodes[0]!), "node(s) didn't match pod anti-affinity rules");
  assert.equal(ip.unfit(nodes[1]!), undefined);
  // Symmetry: a plain web pod may not join a host whose web pod forbids company.
  const plain = new InterPod(pod('web'), [], nodes, placed);
  assert.equal(plain.unfit(nodes[0]!), "node(s) didn't satisfy existing pods anti-affinity rules");
  const withDb = {
    affinity: {
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'zone' },
        ],
      },
    },
  };
  const db = [{ pod: pod('db'), node: nodes[2]! }];
  const near = new InterPod(pod('cache', withDb), db, nodes, []);
  assert.equal(near.unfit(nodes[0]!), "node(s) didn't match pod affinity rules");
  assert.equal(near.unfit(nodes[2]!), undefined);
});

test('topology spread: maxSkew per zone, DoNotSchedule', () => {
  const spread = {
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: 'zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { app: 's' } },
      },
    ],
  };
  const placed = [
    { pod: pod('s'), node: nodes[0]! },
    { pod: pod('s'), node: nodes[1]! },
    { pod: pod('s'), node: nodes[2]! },
  ];
  const ip = new InterPod(pod('s', spread), placed, nodes, []);
  assert.equal(ip.unfit(nodes[0]!), "node(s) didn't match pod topology spread constraints");
  assert.equal(ip.unfit(nodes[2]!), undefined);
});

test('node affinity: expressions, fields, preferred weights', () => {
  const spec = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 50,
            preference: { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] },
          },
        ],
      },
    },
  };
  assert.ok(nodeAffinityMatches(spec, nodes[0]!));
  assert.ok(!nodeAffinityMatches(spec, nodes[2]!));
  assert.equal(preferredNodeScore(spec, nodes[1]!), 50);
  assert.equal(preferredNodeScore(spec, nodes[0]!), 0);
});
