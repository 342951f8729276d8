import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverSideApply } from './managed-fields.js';

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
