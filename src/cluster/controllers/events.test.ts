import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { recordEvent } from './events.js';

test('events: repeats bump the count; one object gets a burst of 25, then is throttled', async () => {
  const created: KubeObject[] = [];
  const patched: unknown[] = [];
  const client = {
    create: async (_r: unknown, _ns: string, o: KubeObject) => created.push(o),
    patch: async (_r: unknown, _ns: string, _n: string, p: unknown) => patched.push(p),
  } as unknown as KubeClient;
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-1', namespace: 'default', uid: 'u1' },
  };
  recordEvent(client, rs, 'Normal', 'SuccessfulCreate', 'Created pod: a', 'test');
  recordEvent(client, rs, 'Normal', 'SuccessfulCreate', 'Created pod: a', 'test');
  for (let i = 0; i < 40; i++)
    recordEvent(client, rs, 'Normal', 'SuccessfulCreate', `Created pod: p${i}`, 'test');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(created.length, 25, 'a burst of 25 distinct events per object');
  assert.deepEqual(
    patched.map((p) => (p as { count: number }).count),
    [2],
    'the repeat became count 2 on the first event',
  );
  const first = created[0] as KubeObject & { involvedObject: { kind: string; uid: string }; source: unknown };
  assert.equal(first.involvedObject.kind, 'ReplicaSet');
  assert.equal(first.involvedObject.uid, 'u1');
  assert.deepEqual(first.source, { component: 'test' });
  assert.match(String(first.metadata.name), /^web-1\.[0-9a-f]+$/);
});
