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
