import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inQuotaScope, podResources, usageOf } from './quota-usage.js';

const pod = (spec: Record<string, unknown>, phase = 'Running') => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c' }], ...spec },
  status: { phase },
});

test('a pod costs its requests and limits; init containers count at their largest', () => {
  const spec = {
    containers: [
      { name: 'a', resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1' } } },
      { name: 'b', resources: { requests: { cpu: '200m' } } },
    ],
    initContainers: [{ name: 'i', resources: { requests: { cpu: '500m' } } }],
  };
  assert.deepEqual(podResources(spec as Parameters<typeof podResources>[0], 'requests'), {
    cpu: 0.5,
    memory: 2 ** 30,
  });
  const u = usageOf('', 'pods', pod(spec));
  assert.equal(u.pods, 1);
  assert.equal(u['count/pods'], 1);
  assert.equal(u['requests.cpu'], 0.5);
  assert.equal(u.cpu, 0.5);
  assert.equal(u['limits.cpu'], 1);
  assert.deepEqual(usageOf('', 'pods', pod(spec, 'Succeeded')), {});
  assert.deepEqual(usageOf('apps', 'deployments', { metadata: {} }), { 'count/deployments.apps': 1 });
});

test('scoped quotas track only the pods in every scope they name', () => {
  const best = pod({});
  const sized = pod({ containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] });
  const job = pod({ activeDeadlineSeconds: 60, priorityClassName: 'high' });
  assert.ok(inQuotaScope({}, '', 'configmaps', { metadata: {} }));
  assert.ok(!inQuotaScope({ scopes: ['BestEffort'] }, '', 'configmaps', { metadata: {} }));
  assert.ok(inQuotaScope({ scopes: ['BestEffort'] }, '', 'pods', best));
  assert.ok(!inQuotaScope({ scopes: ['BestEffort'] }, '', 'pods', sized));
  assert.ok(inQuotaScope({ scopes: ['NotBestEffort', 'NotTerminating'] }, '', 'pods', sized));
  assert.ok(!inQuotaScope({ scopes: ['NotTerminating'] }, '', 'pods', job));
  const high = {
    scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] },
  };
  assert.ok(inQuotaScope(high, '', 'pods', job));
  assert.ok(!inQuotaScope(high, '', 'pods', best));
});
