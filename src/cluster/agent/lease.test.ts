import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BerthError } from '../../core/errors.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { NodeLeases } from './lease.js';

/** A client holding one Lease store, recording each call as `verb name`. */
function fakeClient() {
  const calls: string[] = [];
  const leases = new Map<string, KubeObject>();
  let rv = 0;
  const stored = (o: KubeObject) => {
    const s = { ...o, metadata: { ...o.metadata, resourceVersion: String(++rv) } };
    leases.set(o.metadata.name!, s);
    return s;
  };
  const client = {
    get: async (_r: unknown, _ns: string, name: string) => {
      calls.push(`get ${name}`);
      const l = leases.get(name);
      if (!l) throw new BerthError('NotFound', `leases "${name}" not found`);
      return l;
    },
    create: async (_r: unknown, _ns: string, o: KubeObject) => {
      calls.push(`create ${o.metadata.name}`);
      return stored(o);
    },
    update: async (_r: unknown, o: KubeObject) => {
      calls.push(`update ${o.metadata.name}`);
      const cur = leases.get(o.metadata.name!);
      if (!cur) throw new BerthError('NotFound', 'gone');
      if (cur.metadata.resourceVersion !== o.metadata.resourceVersion)
        throw new BerthError('Conflict', 'changed');
      return stored(o);
    },
  } as unknown as KubeClient;
  return { client, calls, leases, stored };
}

test('a Lease is made once, then renewed by one update a beat; a conflict reads it again', async () => {
  const { client, calls, leases, stored } = fakeClient();
  const l = new NodeLeases(client);
  await l.renew('n1', 'uid-1');
  assert.deepEqual(calls.splice(0), ['get n1', 'create n1']);
  assert.deepEqual(leases.get('n1')?.metadata.ownerReferences, [
    { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' },
  ]);
  await l.renew('n1');
  await l.renew('n1');
  assert.deepEqual(calls.splice(0), ['update n1', 'update n1']);
  // Someone else wrote it: the update from the kept copy conflicts, so it is read again.
  stored(leases.get('n1')!);
  await l.renew('n1');
  assert.deepEqual(calls.splice(0), ['update n1', 'get n1', 'update n1']);
  // Deleted: made again.
  leases.delete('n1');
  await l.renew('n1');
  assert.deepEqual(calls.splice(0), ['update n1', 'get n1', 'create n1']);
});
