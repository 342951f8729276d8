import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { eligible } from './daemonset.js';

const node = (labels: Record<string, string>, taints: unknown[] = []): KubeObject => ({
  metadata: { name: 'n1', labels },
  spec: { taints },
});

test('eligibility: node selector, required affinity, taints (NoSchedule only for new pods)', () => {
  const t = (spec: Record<string, unknown>) => ({ spec });
  assert.ok(eligible(t({ nodeSelector: { disk: 'ssd' } }), node({ disk: 'ssd' })));
  assert.ok(!eligible(t({ nodeSelector: { disk: 'ssd' } }), node({ disk: 'hdd' })));
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }],
      },
    },
  };
  assert.ok(eligible(t({ affinity }), node({ zone: 'b' })));
  assert.ok(!eligible(t({ affinity }), node({ zone: 'c' })));
  const gpu = node({}, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
  assert.ok(!eligible(t({}), gpu), 'a new daemon pod does not go there');
  assert.ok(eligible(t({}), gpu, true), 'one already running stays');
  assert.ok(eligible(t({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }] }), gpu));
  // The tolerations every daemon pod gets: unschedulable and not-ready nodes keep their daemons.
  assert.ok(eligible(t({}), node({}, [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }])));
});
