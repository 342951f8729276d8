import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../api/status.js';
import { recordUpdate, serverSideApply } from './managed-fields.js';

test('server-side apply merges, records the manager, and drops what it stopped applying', () => {
  const live = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', labels: { other: 'keep' } },
    data: { mine: '0' },
  };
  const first = serverSideApply(
    live,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', labels: { a: '1' } },
      data: { x: '1', y: '2' },
    },
    'me',
  );
  assert.deepEqual(first.data, { mine: '0', x: '1', y: '2' });
  assert.deepEqual(first.metadata?.labels, { other: 'keep', a: '1' });
  const managed = first.metadata?.managedFields as {
    manager: string;
    operation: string;
    fieldsV1: unknown;
  }[];
  assert.deepEqual(
    managed.map((m) => `${m.manager}/${m.operation}`),
    ['me/Apply'],
  );
  assert.deepEqual(managed[0]?.fieldsV1, {
    'f:metadata': { 'f:labels': { 'f:a': {} } },
    'f:data': { 'f:x': {}, 'f:y': {} },
  });
  const second = serverSideApply(
    first,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { x: '3' } },
    'me',
  );
  assert.deepEqual(second.data, { mine: '0', x: '3' });
  assert.deepEqual(second.metadata?.labels, { other: 'keep' });
});

test('applying a field another manager set differently is a conflict unless forced', () => {
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { replicas: 1, paused: false },
  };
  recordUpdate(live, undefined, 'kubectl-create');
  const cfg = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 3 } };
  assert.throws(
    () => serverSideApply(live, cfg, 'me'),
    (e: ApiError) =>
      e.httpCode === 409 &&
      e.message ===
        'Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1: .spec.replicas' &&
      e.statusDetails?.causes?.[0]?.field === '.spec.replicas',
  );
  // The same value is shared ownership, not a conflict.
  const shared = serverSideApply(live, { ...cfg, spec: { replicas: 1 } }, 'me');
  assert.equal(
    (shared.metadata?.managedFields as unknown[] | undefined)?.length,
    2,
    'both managers own spec.replicas',
  );
  const forced = serverSideApply(live, cfg, 'me', true);
  assert.equal((forced.spec as { replicas: number }).replicas, 3);
  const managed = forced.metadata?.managedFields as { manager: string; fieldsV1: unknown }[];
  assert.deepEqual(managed.find((m) => m.manager === 'kubectl-create')?.fieldsV1, {
    'f:spec': { 'f:paused': {} },
  });
});

test('an update takes the fields it changes from their previous owner', () => {
  const o = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
  const applied = serverSideApply(o, { ...o, data: { a: '1' } }, 'me');
  const next = { ...applied, data: { a: '9', b: '2' } };
  recordUpdate(next, applied, 'kubectl-edit');
  const managed = next.metadata?.managedFields as { manager: string; fieldsV1: unknown }[];
  assert.deepEqual(
    managed.map((m) => [m.manager, m.fieldsV1]),
    [['kubectl-edit', { 'f:data': { 'f:a': {} } }]],
  );
});

const deployment = (containers: object[]) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'd' },
  spec: { template: { spec: { containers } } },
});
type Managed = { manager: string; operation: string; fieldsV1: Record<string, unknown> }[];
const managedOf = (o: { metadata?: Record<string, unknown> }, manager: string) =>
  ((o.metadata?.managedFields ?? []) as Managed).find((m) => m.manager === manager)?.fieldsV1;
const containersOf = (o: object) =>
  (o as { spec: { template: { spec: { containers: { env?: unknown[]; ports?: unknown[] }[] } } } }).spec
    .template.spec.containers;

test('two managers add env entries to one container: no conflict, each owns its own entry by key', () => {
  const a = serverSideApply(
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } },
    deployment([{ name: 'main', image: 'busybox', env: [{ name: 'A', value: '1' }] }]),
    'a',
  );
  const b = serverSideApply(a, deployment([{ name: 'main', env: [{ name: 'B', value: '2' }] }]), 'b');
  assert.deepEqual(containersOf(b)[0]?.env, [
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
  ]);
  assert.deepEqual(managedOf(b, 'b'), {
    'f:spec': {
      'f:template': {
        'f:spec': {
          'f:containers': {
            'k:{"name":"main"}': {
              '.': {},
              'f:name': {},
              'f:env': { 'k:{"name":"B"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
            },
          },
        },
      },
    },
  });
  const aOwns = JSON.stringify(managedOf(b, 'a'));
  assert.match(aOwns, /"k:\{\\"name\\":\\"A\\"\}"/);
  assert.doesNotMatch(aOwns, /\\"B\\"/);
  // a stops applying its entry: it goes, b's stays, and the container b still holds part of stays.
  const again = serverSideApply(b, deployment([{ name: 'main', image: 'busybox' }]), 'a');
  assert.deepEqual(containersOf(again)[0]?.env, [{ name: 'B', value: '2' }]);
  assert.equal(containersOf(again).length, 1);
});

test('a conflict inside a list item is named by its key; a port key takes the default protocol', () => {
  const a = serverSideApply(
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } },
    deployment([{ name: 'main', image: 'busybox', ports: [{ containerPort: 80 }] }]),
    'a',
  );
  assert.ok(
    JSON.stringify(managedOf(a, 'a')).includes('k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}'),
  );
  assert.throws(
    () => serverSideApply(a, deployment([{ name: 'main', image: 'nginx' }]), 'b'),
    (e: ApiError) =>
      e.httpCode === 409 &&
      e.message ===
        'Apply failed with 1 conflict: conflict with "a" using apps/v1: .spec.template.spec.containers[name="main"].image',
  );
});

test("a ConfigMap's data is owned key by key; a custom resource's lists are owned whole", () => {
  const cm = serverSideApply(
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } },
    'a',
  );
  assert.deepEqual(managedOf(cm, 'a'), { 'f:data': { 'f:a': {} } });
  const cr = serverSideApply(
    { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
    {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { items: [{ name: 'x' }] },
    },
    'a',
  );
  assert.deepEqual(managedOf(cr, 'a'), { 'f:spec': { 'f:items': {} } });
});
