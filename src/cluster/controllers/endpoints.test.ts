import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alreadyExists, notFound } from '../../core/errors.js';
import type { KubeObject } from '../client/kube-client.js';
import { subsetsOf, syncEndpoints } from './endpoints.js';
import { syncSlices } from './endpointslice.js';
import { serviceEndpoints } from './service-pods.js';

const svc: KubeObject = {
  metadata: { name: 'web', namespace: 'default', uid: 's1' },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
};
const pod = (name: string, ip: string, ready: boolean, port = 8080): KubeObject => ({
  metadata: { name, namespace: 'default', uid: name, labels: { app: 'web' } },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: port }] }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

test('subsets: ready and not-ready addresses, named target ports resolved per pod', () => {
  const eps = serviceEndpoints(svc, [
    pod('a', '10.0.0.2', true),
    pod('b', '10.0.0.1', false),
    pod('c', '10.0.0.3', true, 9090),
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(subsetsOf(eps))), [
    {
      addresses: [
        {
          ip: '10.0.0.2',
          nodeName: 'n1',
          targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'a' },
        },
      ],
      notReadyAddresses: [
        {
          ip: '10.0.0.1',
          nodeName: 'n1',
          targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'b' },
        },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
    {
      addresses: [
        {
          ip: '10.0.0.3',
          nodeName: 'n1',
          targetRef: { kind: 'Pod', namespace: 'default', name: 'c', uid: 'c' },
        },
      ],
      ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
    },
  ]);
});

test('Endpoints are created, left alone when unchanged, deleted with the Service', async () => {
  const done: string[] = [];
  const act = {
    create: async (_ns: string, e: KubeObject) => done.push(`create ${e.metadata.name}`),
    update: async (e: KubeObject) => done.push(`update ${e.metadata.name}`),
    delete: async (_ns: string, n: string) => done.push(`delete ${n}`),
  };
  const pods = [pod('a', '10.0.0.2', true)];
  await syncEndpoints(
    'default/web',
    { service: () => svc, endpoints: () => undefined, podsIn: () => pods },
    act,
  );
  const subsets = subsetsOf(serviceEndpoints(svc, pods));
  const ep = {
    metadata: { name: 'web', labels: { 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' } },
    subsets,
  };
  await syncEndpoints('default/web', { service: () => svc, endpoints: () => ep, podsIn: () => pods }, act);
  await syncEndpoints(
    'default/web',
    { service: () => undefined, endpoints: () => ep, podsIn: () => pods },
    act,
  );
  assert.deepEqual(done, ['create web', 'delete web']);
});

test('slices hold at most 100 endpoints each', async () => {
  const made: KubeObject[] = [];
  const pods = Array.from({ length: 250 }, (_, i) => pod(`p${i}`, `10.1.${i >> 8}.${i & 255}`, true));
  await syncSlices(
    'default/web',
    { service: () => svc, podsIn: () => pods, slicesOf: () => [] },
    { create: async (_ns, s) => made.push(s), update: async () => 0, delete: async () => 0 },
  );
  assert.deepEqual(
    made.map((s) => (s.endpoints as unknown[]).length),
    [100, 100, 50],
  );
  assert.equal(made[0]?.metadata.labels?.['kubernetes.io/service-name'], 'web');
  assert.equal(made[0]?.metadata.ownerReferences?.[0]?.uid, 's1');
});

test('a pod whose subdomain names the Service carries its hostname into the endpoints (its DNS name)', () => {
  const named = (subdomain: string): KubeObject => {
    const p = pod('h', '10.0.0.9', true);
    return { ...p, spec: { ...p.spec, hostname: 'web-0', subdomain } };
  };
  assert.equal(serviceEndpoints(svc, [named('web')])[0]?.hostname, 'web-0');
  assert.equal(serviceEndpoints(svc, [named('other')])[0]?.hostname, undefined);
  const subsets = subsetsOf(serviceEndpoints(svc, [named('web')]));
  assert.equal((subsets[0] as { addresses: { hostname?: string }[] }).addresses[0]?.hostname, 'web-0');
});

test("a Service's Endpoints deleted meanwhile is no failure; another failure of the delete is", async () => {
  const caches = {
    service: () => undefined,
    endpoints: (): KubeObject => ({ metadata: { name: 'web', namespace: 'default' } }),
    podsIn: () => [],
  };
  const act = (fail: Error) => ({
    create: async () => undefined,
    update: async () => undefined,
    delete: async () => {
      throw fail;
    },
  });
  await syncEndpoints('default/web', caches, act(notFound('endpoints "web" not found')));
  await assert.rejects(syncEndpoints('default/web', caches, act(new Error('etcd down'))), /etcd down/);
});

test('a create refused as AlreadyExists (the cache behind the store) fails the sync, so the queue retries it', async () => {
  // Swallowed, the subsets of this pass were lost: the Endpoints kept what the first create wrote.
  const act = {
    create: async () => {
      throw alreadyExists('endpoints "web" already exists');
    },
    update: async () => undefined,
    delete: async () => undefined,
  };
  await assert.rejects(
    syncEndpoints(
      'default/web',
      { service: () => svc, endpoints: () => undefined, podsIn: () => [pod('a', '10.0.0.2', true)] },
      act,
    ),
    /already exists/,
  );
});
