import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject, Resource } from '../client/kube-client.js';
import { type NamespaceActions, syncNamespace } from './namespace.js';

const pods: Resource = { base: '/api/v1', plural: 'pods', namespaced: true };
const cms: Resource = { base: '/api/v1', plural: 'configmaps', namespaced: true };
const ns = (deleting: boolean): KubeObject => ({
  metadata: {
    name: 'team',
    resourceVersion: '5',
    ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { finalizers: ['kubernetes'] },
});
const obj = (name: string, finalizers?: string[]): KubeObject => ({
  metadata: { name, namespace: 'team', uid: name, ...(finalizers ? { finalizers } : {}) },
});

function recorder(contents: Map<string, KubeObject[]>) {
  const log: string[] = [];
  const act: NamespaceActions = {
    resources: async () => [pods, cms],
    list: async (r) => contents.get(r.plural) ?? [],
    delete: async (r, _ns, o) => log.push(`delete ${r.plural}/${o.metadata.name}`),
    setConditions: async (_n, c) =>
      log.push(`conditions ${c.map((x) => (x as { message: string }).message).join(' | ')}`),
    finalize: async (_n, f) => log.push(`finalize [${f.join(',')}]`),
    requeueAfter: (n, ms) => log.push(`requeue ${n} ${ms}`),
  };
  return { act, log };
}

test('an active namespace is left alone', async () => {
  const { act, log } = recorder(new Map([['pods', [obj('p')]]]));
  await syncNamespace(ns(false), act);
  assert.deepEqual(log, []);
});

test('a terminating namespace: everything in it is deleted, then its finalizer goes', async () => {
  const { act, log } = recorder(
    new Map([
      ['pods', [obj('a'), obj('b')]],
      ['configmaps', [obj('c')]],
    ]),
  );
  await syncNamespace(ns(true), act);
  assert.deepEqual(log, ['delete pods/a', 'delete pods/b', 'delete configmaps/c', 'finalize []']);
});

test('content held by finalizers keeps the namespace, with the conditions saying why', async () => {
  const held = { ...obj('c', ['example.com/hold']) };
  held.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  const { act, log } = recorder(new Map([['configmaps', [held, obj('d', ['example.com/hold'])]]]));
  await syncNamespace(ns(true), act);
  assert.deepEqual(log, [
    'delete configmaps/d',
    'conditions Some resources are remaining: configmaps has 2 resource instances | Some content in the namespace has finalizers remaining: example.com/hold in 2 resource instances',
    'requeue team 2000',
  ]);
});
