import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '../../api/objects.js';
import type { ApiError } from '../../api/status.js';
import { resourceQuotaAdmission } from './resource-quota.js';
import { pod, request, storeWith } from './test-request.js';

const quota = (hard: Record<string, string>, used?: Record<string, string>) =>
  [
    'resourcequotas',
    { metadata: { name: 'q', namespace: 'ns' }, spec: { hard }, ...(used ? { status: { hard, used } } : {}) },
  ] as [string, never];
const usedOf = async (store: Awaited<ReturnType<typeof storeWith>>) =>
  (
    decode((await store.get('/registry/core/resourcequotas/ns/q'))!).status as {
      used: Record<string, string>;
    }
  ).used;

test('concurrent pod creates under pods=2 are charged exactly: two pass, the rest get the 403', async () => {
  const store = await storeWith([quota({ pods: '2' }, { pods: '0' })]);
  const plugin = resourceQuotaAdmission(store);
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => plugin.validate?.(request('pods', pod(`p${i}`, [{ name: 'c' }])))),
  );
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
  const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.equal((refused.reason as ApiError).httpCode, 403);
  assert.match(
    (refused.reason as ApiError).message,
    /^pods "p\d" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2$/,
  );
  assert.deepEqual(await usedOf(store), { pods: '2' });
});

test('compute quotas charge requests and limits and refuse a pod that states none', async () => {
  const store = await storeWith([quota({ 'requests.cpu': '1', 'limits.memory': '1Gi', cpu: '1' })]);
  const plugin = resourceQuotaAdmission(store);
  const sized = (name: string, cpu: string) =>
    pod(name, [{ name: 'c', resources: { requests: { cpu }, limits: { memory: '512Mi' } } }]);
  await plugin.validate?.(request('pods', sized('a', '600m')));
  assert.deepEqual(await usedOf(store), { cpu: '600m', 'limits.memory': '512Mi', 'requests.cpu': '600m' });
  await assert.rejects(
    plugin.validate?.(request('pods', sized('b', '500m'))) as Promise<void>,
    /exceeded quota: q, requested: cpu=500m,requests.cpu=500m, used: cpu=600m,requests.cpu=600m, limited: cpu=1,requests.cpu=1/,
  );
  await assert.rejects(
    plugin.validate?.(request('pods', pod('bare', [{ name: 'c' }]))) as Promise<void>,
    /failed quota: q: must specify cpu for: c; limits.memory for: c; requests.cpu for: c/,
  );
});

test('a quota without status is measured from the objects; a dry run charges nothing', async () => {
  const store = await storeWith([
    quota({ configmaps: '2', 'count/configmaps': '5' }),
    ['configmaps', { metadata: { name: 'one', namespace: 'ns' } } as never],
  ]);
  const plugin = resourceQuotaAdmission(store);
  const cm = (name: string) => ({ metadata: { name, namespace: 'ns' } });
  await plugin.validate?.(request('configmaps', cm('two'), { dryRun: true }));
  assert.equal(decode((await store.get('/registry/core/resourcequotas/ns/q'))!).status, undefined);
  await plugin.validate?.(request('configmaps', cm('two')));
  assert.deepEqual(await usedOf(store), { configmaps: '2', 'count/configmaps': '2' });
  await assert.rejects(
    plugin.validate?.(request('configmaps', cm('three'))) as Promise<void>,
    /configmaps=2/,
  );
});

test('Services count node ports and load balancers', async () => {
  const store = await storeWith([quota({ 'services.nodeports': '1', 'services.loadbalancers': '0' })]);
  const plugin = resourceQuotaAdmission(store);
  const svc = (type: string, ports: number) => ({
    metadata: { name: type.toLowerCase(), namespace: 'ns' },
    spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i })) },
  });
  await plugin.validate?.(request('services', svc('ClusterIP', 3)));
  await assert.rejects(
    plugin.validate?.(request('services', svc('NodePort', 2))) as Promise<void>,
    /requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1/,
  );
  await assert.rejects(
    plugin.validate?.(request('services', svc('LoadBalancer', 1))) as Promise<void>,
    /services.loadbalancers=1/,
  );
});
