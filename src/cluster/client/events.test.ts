import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventRecorder } from './events.js';
import type { KubeClient, KubeObject } from './kube-client.js';

function fakeClient() {
  const created: KubeObject[] = [];
  const patched: { name: string; count: number; message: string }[] = [];
  const client = {
    create: async (_r: unknown, _ns: string, o: KubeObject) => created.push(o),
    patch: async (_r: unknown, _ns: string, name: string, p: { count: number; message: string }) =>
      patched.push({ name, ...p }),
  } as unknown as KubeClient;
  return { client, created, patched };
}

const rs: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web-1', namespace: 'default', uid: 'u1' },
};

async function drained(r: EventRecorder): Promise<void> {
  while (r.pending > 0) await new Promise((resolve) => setImmediate(resolve));
}

test('events: a repeat bumps the count of the first; the event names its object and source', async () => {
  const { client, created, patched } = fakeClient();
  const r = new EventRecorder(client, 'test');
  r.record(rs, 'Normal', 'ScalingReplicaSet', 'Scaled up to 3');
  r.record(rs, 'Normal', 'ScalingReplicaSet', 'Scaled up to 3');
  await drained(r);
  assert.equal(created.length, 1);
  assert.deepEqual(
    patched.map((p) => [p.name, p.count]),
    [[created[0]!.metadata.name, 2]],
  );
  const first = created[0] as KubeObject & { involvedObject: { kind: string; uid: string }; source: unknown };
  assert.equal(first.involvedObject.kind, 'ReplicaSet');
  assert.equal(first.involvedObject.uid, 'u1');
  assert.deepEqual(first.source, { component: 'test' });
  assert.match(String(first.metadata.name), /^web-1\.[0-9a-f]+$/);
});

test('events: similar events past ten become one combined event whose count goes up', async () => {
  const { client, created, patched } = fakeClient();
  const r = new EventRecorder(client, 'test');
  for (let i = 0; i < 15; i++) r.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: p${i}`);
  await drained(r);
  assert.equal(created.length, 11, 'ten distinct events, then one combined');
  assert.equal(created[10]!.message, '(combined from similar events): Created pod: p10');
  assert.deepEqual(
    patched.map((p) => p.count),
    [2, 3, 4, 5],
  );
  assert.equal(patched.at(-1)!.message, '(combined from similar events): Created pod: p14');
});

test('events: one object gets a burst of 25 events, then is throttled', async () => {
  const { client, created } = fakeClient();
  const r = new EventRecorder(client, 'test');
  for (let i = 0; i < 40; i++) r.record(rs, 'Normal', `Reason${i}`, 'm');
  await drained(r);
  assert.equal(created.length, 25);
});

test('events: repeats count against the spam filter, so a condition repeating every second stops writing', async () => {
  const { client, created, patched } = fakeClient();
  let now = 0;
  const r = new EventRecorder(client, 'kubelet', () => now);
  for (let i = 0; i < 100; i++) {
    r.record(rs, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503');
    now += 1000;
  }
  await drained(r);
  assert.equal(created.length + patched.length, 25);
  assert.equal(patched.at(-1)?.count, 25);
});
