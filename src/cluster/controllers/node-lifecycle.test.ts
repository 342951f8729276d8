import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import {
  evictionTime,
  HeartbeatObserver,
  healthTaints,
  NOT_READY,
  pressureTaints,
  UNREACHABLE,
} from './node-lifecycle.js';

const NOW = Date.parse('2026-11-22T10:00:00Z');

test('taints follow the Ready condition and keep their timeAdded', () => {
  const other = { key: 'gpu', effect: 'NoSchedule' };
  const unknown = healthTaints('Unknown', [other], NOW);
  assert.deepEqual(
    unknown.map((t) => `${t.key}:${t.effect}`),
    ['gpu:NoSchedule', `${UNREACHABLE}:NoSchedule`, `${UNREACHABLE}:NoExecute`],
  );
  assert.equal(unknown[2]?.timeAdded, '2026-11-22T10:00:00Z');
  assert.deepEqual(healthTaints('Unknown', unknown, NOW + 5000), unknown, 'stable while still unknown');
  assert.equal(healthTaints('False', [], NOW)[0]?.key, NOT_READY);
  assert.deepEqual(healthTaints('True', unknown, NOW), [other]);
});

test('eviction: untolerated at once, tolerationSeconds after the taint, unlimited never', () => {
  const taint = { key: UNREACHABLE, effect: 'NoExecute', timeAdded: '2026-11-22T10:00:00Z' };
  const pod = (tolerations: unknown[]): KubeObject => ({ metadata: { name: 'p' }, spec: { tolerations } });
  assert.equal(evictionTime(pod([]), [taint], NOW), 0);
  assert.equal(
    evictionTime(
      pod([{ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }]),
      [taint],
      NOW,
    ),
    NOW + 30_000,
  );
  assert.equal(evictionTime(pod([{ operator: 'Exists' }]), [taint], NOW), undefined);
  assert.equal(evictionTime(pod([]), [{ key: 'x', effect: 'NoSchedule' }], NOW), undefined);
});

test("heartbeats are judged by when a renewal was observed, by the controller's own clock", () => {
  let now = NOW;
  const hb = new HeartbeatObserver(() => now);
  const node: KubeObject = {
    metadata: { name: 'n', creationTimestamp: '2026-11-22T09:00:00Z' },
    status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-22T09:30:00Z' }] },
  };
  // A Lease renewed long ago by wall clock (the control plane was down): the first look is "now".
  const lease = (t: string) => ({ metadata: { name: 'n' }, spec: { renewTime: t } });
  assert.equal(hb.observe(node, lease('2026-11-22T09:00:00.000000Z')), NOW);
  now += 15_000;
  assert.equal(hb.observe(node, lease('2026-11-22T09:00:00.000000Z')), NOW, 'no renewal seen: the age grows');
  now += 15_000;
  assert.equal(
    hb.observe(node, lease('2026-11-22T09:00:10.000000Z')),
    NOW + 30_000,
    'a renewal, whatever time it names',
  );
  const unknown = { ...node, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
  now += 5_000;
  assert.equal(
    hb.observe(unknown, lease('2026-11-22T09:00:10.000000Z')),
    NOW + 30_000,
    'a condition that lost its heartbeat time is no renewal',
  );
});

test('pressure conditions give NoSchedule taints while True, and take them away after', () => {
  const other = { key: 'gpu', effect: 'NoSchedule' };
  const tainted = pressureTaints(
    [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'DiskPressure', status: 'True' },
      { type: 'PIDPressure', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    [other],
  );
  assert.deepEqual(
    tainted.map((t) => `${t.key}:${t.effect}`),
    [
      'gpu:NoSchedule',
      'node.kubernetes.io/disk-pressure:NoSchedule',
      'node.kubernetes.io/pid-pressure:NoSchedule',
    ],
  );
  assert.deepEqual(pressureTaints([{ type: 'DiskPressure', status: 'False' }], tainted), [other]);
});
