import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { nodeInfo, podRequest, score, unfitReason, unschedulableMessage } from './fit.js';

const node = (name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  metadata: { name, labels: { zone: 'a' } },
  status: { allocatable: { cpu: '2', memory: '4Gi', pods: '110' } },
  ...extra,
});
const pod = (cpu: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu, memory: '1Gi' } } }], ...extra },
});

test('filters: resources, selector, taints, unschedulable', () => {
  const n = nodeInfo(node('n1'));
  assert.equal(unfitReason(pod('1'), n, podRequest(pod('1'))), undefined);
  assert.equal(unfitReason(pod('3'), n, podRequest(pod('3'))), 'Insufficient cpu');
  assert.match(unfitReason(pod('1', { nodeSelector: { zone: 'b' } }), n, { cpu: 0, memory: 0 })!, /selector/);
  const tainted = nodeInfo(
    node('n2', { spec: { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] } }),
  );
  assert.match(unfitReason(pod('1'), tainted, { cpu: 0, memory: 0 })!, /untolerated taint/);
  assert.equal(
    unfitReason(
      pod('1', { tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }] }),
      tainted,
      { cpu: 0, memory: 0 },
    ),
    undefined,
  );
  assert.match(
    unfitReason(pod('1'), nodeInfo(node('n3', { spec: { unschedulable: true } })), { cpu: 0, memory: 0 })!,
    /unschedulable/,
  );
});

test('scoring prefers emptier nodes and spreads one owner', () => {
  const a = nodeInfo(node('a'));
  const b = nodeInfo(node('b'));
  a.usedCpu = 1000;
  assert.ok(score(b, { cpu: 0, memory: 0 }, undefined) > score(a, { cpu: 0, memory: 0 }, undefined));
  b.usedCpu = 1000;
  b.byOwner.set('rs', 2);
  assert.ok(score(a, { cpu: 0, memory: 0 }, 'rs') > score(b, { cpu: 0, memory: 0 }, 'rs'));
  assert.equal(
    unschedulableMessage(3, new Map([['Insufficient cpu', 3]])),
    '0/3 nodes are available: 3 Insufficient cpu.',
  );
});
