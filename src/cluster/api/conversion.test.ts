// HorizontalPodAutoscalers read as either autoscaling version, whichever wrote them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asVersion, toStorage } from './conversion.js';
import { ResourceRegistry } from './resources.js';

const reg = new ResourceRegistry();
const v1 = reg.get('autoscaling', 'v1', 'horizontalpodautoscalers')!;
const v2 = reg.get('autoscaling', 'v2', 'horizontalpodautoscalers')!;
const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };

test('a v1 HPA is stored with v2 metrics and reads back the same through v1', () => {
  const written = {
    metadata: { name: 'h' },
    spec: { scaleTargetRef: ref, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 60 },
  };
  const stored = toStorage(v1, structuredClone(written));
  assert.deepEqual(stored.spec, {
    scaleTargetRef: ref,
    minReplicas: 1,
    maxReplicas: 3,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } },
      },
    ],
  });
  assert.deepEqual(asVersion(v1, stored).spec, written.spec);
  assert.equal(asVersion(v1, stored).apiVersion, 'autoscaling/v1');
});

test('v2 conditions and current metrics read through v1 as the annotation and the CPU figure, and back', () => {
  const conditions = [{ type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: '' }];
  const stored = {
    metadata: { name: 'h' },
    spec: { scaleTargetRef: ref, maxReplicas: 3 },
    status: {
      currentReplicas: 2,
      conditions,
      currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40 } } }],
    },
  };
  const old = asVersion(v1, stored);
  assert.deepEqual(old.status, { currentReplicas: 2, currentCPUUtilizationPercentage: 40 });
  assert.equal(
    old.metadata?.annotations?.['autoscaling.alpha.kubernetes.io/conditions'],
    JSON.stringify(conditions),
  );
  const back = asVersion(v2, toStorage(v1, old));
  assert.deepEqual((back.status as { conditions: unknown }).conditions, conditions);
  assert.equal(back.metadata?.annotations, undefined);
});

test('kinds with one version pass through with their apiVersion and kind', () => {
  const pods = reg.get('', 'v1', 'pods')!;
  assert.deepEqual(asVersion(pods, { metadata: { name: 'p' } }), {
    metadata: { name: 'p' },
    apiVersion: 'v1',
    kind: 'Pod',
  });
});
