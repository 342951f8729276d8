import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../client/kube-client.js';
import { admissionRefusal } from './admission.js';

const pod = (spec: Record<string, unknown> = {}, requests?: Record<string, string>): KubeObject => ({
  metadata: { name: 'p' },
  spec: {
    containers: [{ name: 'c', ...(requests ? { resources: { requests, limits: requests } } : {}) }],
    ...spec,
  },
});
const none = { memory: false, disk: false };
const memory = { memory: true, disk: false };
const disk = { memory: false, disk: true };

test('no pressure admits every pod; DiskPressure refuses every one but critical pods', () => {
  assert.equal(admissionRefusal(pod(), none), undefined);
  assert.equal(
    admissionRefusal(pod({}, { cpu: '1', memory: '1Gi' }), disk),
    'The node had condition: [DiskPressure]. ',
  );
  assert.equal(
    admissionRefusal(pod(), { memory: true, disk: true }),
    'The node had condition: [MemoryPressure DiskPressure]. ',
  );
  assert.equal(admissionRefusal(pod({ priority: 2_000_000_000 }), disk), undefined);
});

test('MemoryPressure alone refuses BestEffort pods that do not tolerate its taint', () => {
  assert.equal(admissionRefusal(pod(), memory), 'The node had condition: [MemoryPressure]. ');
  assert.equal(admissionRefusal(pod({}, { cpu: '1', memory: '1Gi' }), memory), undefined);
  const tolerating = pod({
    tolerations: [{ key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' }],
  });
  assert.equal(admissionRefusal(tolerating, memory), undefined);
  assert.equal(admissionRefusal(pod({ tolerations: [{ operator: 'Exists' }] }), memory), undefined);
});
