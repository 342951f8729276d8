import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../../api/status.js';
import { limitRangerAdmission } from './limit-ranger.js';
import { pod, request, storeWith } from './test-request.js';

const range = (limits: Record<string, unknown>[]) =>
  ['limitranges', { metadata: { name: 'lr', namespace: 'ns' }, spec: { limits } }] as [string, never];

test('defaults fill in missing requests and limits and are noted in an annotation', async () => {
  const plugin = limitRangerAdmission(
    await storeWith([
      range([
        { type: 'Container', default: { cpu: '500m', memory: '128Mi' }, defaultRequest: { cpu: '100m' } },
      ]),
    ]),
  );
  const p = pod('p', [{ name: 'c', resources: { limits: { memory: '64Mi' } } }]);
  await plugin.admit?.(request('pods', p));
  const res = (p.spec as { containers: { resources: unknown }[] }).containers[0]?.resources;
  assert.deepEqual(res, {
    limits: { memory: '64Mi', cpu: '500m' },
    requests: { cpu: '100m', memory: '64Mi' },
  });
  assert.equal(
    p.metadata?.annotations?.['kubernetes.io/limit-ranger'],
    'LimitRanger plugin set: cpu, memory request for container c; cpu limit for container c',
  );
});

test('a max with no default becomes the default limit and request', async () => {
  const plugin = limitRangerAdmission(await storeWith([range([{ type: 'Container', max: { cpu: '1' } }])]));
  const p = pod('p', [{ name: 'c' }]);
  await plugin.admit?.(request('pods', p));
  assert.deepEqual((p.spec as { containers: { resources: unknown }[] }).containers[0]?.resources, {
    limits: { cpu: '1' },
    requests: { cpu: '1' },
  });
});

test('min, max and ratio refuse with upstream messages, all at once', async () => {
  const plugin = limitRangerAdmission(
    await storeWith([
      range([
        { type: 'Container', min: { memory: '10Mi' }, max: { cpu: '1' }, maxLimitRequestRatio: { cpu: '2' } },
      ]),
    ]),
  );
  const p = pod('p', [
    { name: 'c', resources: { requests: { cpu: '500m', memory: '1Mi' }, limits: { cpu: '2' } } },
  ]);
  await assert.rejects(plugin.validate?.(request('pods', p)) as Promise<void>, (e: ApiError) => {
    assert.equal(e.httpCode, 403);
    assert.equal(
      e.message,
      'pods "p" is forbidden: [minimum memory usage per Container is 10Mi, but request is 1Mi, maximum cpu usage per Container is 1, but limit is 2, cpu max limit to request ratio per Container is 2, but provided ratio is 4.000000]',
    );
    return true;
  });
  const fine = pod('q', [
    { name: 'c', resources: { requests: { cpu: '500m', memory: '20Mi' }, limits: { cpu: '1' } } },
  ]);
  await plugin.validate?.(request('pods', fine));
});

test('a claim over the PersistentVolumeClaim max is refused', async () => {
  const plugin = limitRangerAdmission(
    await storeWith([range([{ type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }])]),
  );
  const claim = {
    metadata: { name: 'big', namespace: 'ns' },
    spec: { resources: { requests: { storage: '2Gi' } } },
  };
  await assert.rejects(
    plugin.validate?.(request('persistentvolumeclaims', claim)) as Promise<void>,
    /maximum storage usage per PersistentVolumeClaim is 1Gi, but request is 2Gi/,
  );
});
