// The HPA controller's pass, recorded: min and max enforced without metrics, conditions without a metrics API.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { type HpaActions, syncHpa } from './hpa.js';

const hpa = (spec: Record<string, unknown>): KubeObject => ({
  metadata: { name: 'h', namespace: 'ns', generation: 1 },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
    maxReplicas: 5,
    ...spec,
  },
});

function recorder(replicas: number) {
  const log = { scaled: [] as number[], status: [] as KubeObject[], events: [] as string[] };
  const act: HpaActions = {
    getScale: async (kind) => {
      if (kind !== 'Deployment') throw new Error('unexpected kind');
      return { spec: { replicas }, status: { replicas } };
    },
    setScale: async (_k, _n, _name, r) => log.scaled.push(r),
    updateStatus: async (o) => log.status.push(o),
    event: (_o, _t, reason, message) => log.events.push(`${reason}: ${message}`),
    now: () => new Date('2026-01-01T00:00:00Z'),
  };
  return { log, act };
}
const cond = (o: KubeObject | undefined, type: string) =>
  ((o?.status?.conditions ?? []) as { type: string; status: string; reason: string }[]).find(
    (c) => c.type === type,
  );

describe('HPA sync', () => {
  test('below minReplicas it scales up at once and says why', async () => {
    const { log, act } = recorder(1);
    await syncHpa(hpa({ minReplicas: 3 }), act);
    assert.deepEqual(log.scaled, [3]);
    assert.deepEqual(log.events, [
      'SuccessfulRescale: New size: 3; reason: Current number of replicas below Spec.MinReplicas',
    ]);
    assert.equal(cond(log.status[0], 'AbleToScale')?.reason, 'SucceededRescale');
    assert.equal(log.status[0]?.status?.desiredReplicas, 3);
  });

  test('above maxReplicas it scales down', async () => {
    const { log, act } = recorder(9);
    await syncHpa(hpa({}), act);
    assert.deepEqual(log.scaled, [5]);
  });

  test('in range without a metrics API: ScalingActive False, FailedGetResourceMetric, size kept', async () => {
    const { log, act } = recorder(2);
    await syncHpa(hpa({ minReplicas: 1 }), act);
    assert.deepEqual(log.scaled, []);
    assert.deepEqual(
      [cond(log.status[0], 'ScalingActive')?.status, cond(log.status[0], 'ScalingActive')?.reason],
      ['False', 'FailedGetResourceMetric'],
    );
    assert.equal(cond(log.status[0], 'AbleToScale')?.reason, 'ReadyForNewScale');
    assert.ok(log.events.some((e) => e.startsWith('FailedGetResourceMetric: failed to get cpu utilization')));
  });

  test('a target scaled to zero disables scaling', async () => {
    const { log, act } = recorder(0);
    await syncHpa(hpa({ minReplicas: 2 }), act);
    assert.deepEqual(log.scaled, []);
    assert.equal(cond(log.status[0], 'ScalingActive')?.reason, 'ScalingDisabled');
  });

  test('a kind without a scale subresource is FailedGetScale', async () => {
    const { log, act } = recorder(1);
    await syncHpa(hpa({ scaleTargetRef: { kind: 'ConfigMap', name: 'x' } }), act);
    assert.equal(cond(log.status[0], 'AbleToScale')?.reason, 'FailedGetScale');
  });

  test('with metrics it scales on CPU utilization within maxReplicas and reports the current metric', async () => {
    const { log, act } = recorder(1);
    const running = (name: string): KubeObject => ({
      metadata: { name, namespace: 'ns' },
      spec: { containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }] },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    });
    act.getScale = async () => ({ spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=web' } });
    act.resourceMetrics = {
      pods: async (_ns, selector) => (selector === 'app=web' ? [running('web-1')] : []),
      usage: async () => new Map([['web-1', { cpu: 900, memory: 1 << 20 }]]),
    };
    await syncHpa(
      hpa({
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      }),
      act,
    );
    // 900% of the request against 50%: 18 replicas wanted, 3 allowed.
    assert.deepEqual(log.scaled, [3]);
    const st = log.status[0]?.status;
    assert.equal(cond(log.status[0], 'ScalingActive')?.reason, 'ValidMetricFound');
    assert.equal(cond(log.status[0], 'ScalingLimited')?.reason, 'TooManyReplicas');
    assert.deepEqual(st?.currentMetrics, [
      {
        type: 'Resource',
        resource: { name: 'cpu', current: { averageValue: '900m', averageUtilization: 900 } },
      },
    ]);
    assert.deepEqual(log.events, [
      'SuccessfulRescale: New size: 3; reason: cpu resource utilization (percentage of request) above target',
    ]);
  });
});
