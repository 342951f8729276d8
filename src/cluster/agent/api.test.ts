import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectType } from '../api/k8s-proto.js';
import { strategicMerge } from '../api/patch.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { clientObjects, statusPatch } from './api.js';

/** A client whose GETs wait until `answer` is called, counting them. */
function slowClient() {
  const waiting: (() => void)[] = [];
  const client = {
    gets: 0,
    get(_r: unknown, ns: string, name: string) {
      client.gets++;
      return new Promise<KubeObject>((resolve) =>
        waiting.push(() => resolve({ metadata: { namespace: ns, name }, data: { n: String(client.gets) } })),
      );
    },
  };
  const answer = () => {
    for (const w of waiting.splice(0)) w();
  };
  return { client, answer };
}

test('overlapping reads of one ConfigMap share a request, each with its own copy; a later read asks again', async () => {
  const { client, answer } = slowClient();
  const objects = clientObjects(client as unknown as KubeClient);
  const a = objects.configMap('default', 'kube-root-ca.crt');
  const b = objects.configMap('default', 'kube-root-ca.crt');
  const other = objects.secret('default', 'kube-root-ca.crt');
  assert.equal(client.gets, 2);
  answer();
  const [ra, rb] = await Promise.all([a, b, other]);
  assert.deepEqual(ra, rb);
  assert.notEqual(ra, rb);
  const c = objects.configMap('default', 'kube-root-ca.crt');
  assert.equal(client.gets, 3);
  answer();
  assert.equal(((await c)?.data as { n?: string } | undefined)?.n, '3');
});

test("the status patch replaces the stored addresses and keeps others' conditions", () => {
  const stored: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    status: {
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIPs: [{ ip: '10.42.0.2' }],
      conditions: [{ type: 'DisruptionTarget', status: 'True' }],
    },
  };
  const reported = {
    hostIP: '10.0.0.5',
    hostIPs: [{ ip: '10.0.0.5' }],
    podIPs: [{ ip: '10.42.0.2' }],
    conditions: [{ type: 'Ready', status: 'True' }],
  };
  const next = strategicMerge(stored, statusPatch(reported), objectType(stored)) as KubeObject;
  assert.deepEqual(next.status.hostIPs, [{ ip: '10.0.0.5' }]);
  assert.deepEqual(next.status.podIPs, [{ ip: '10.42.0.2' }]);
  assert.deepEqual(
    next.status.conditions.map((c: { type: string }) => c.type),
    ['DisruptionTarget', 'Ready'],
  );
  // What the pod sync keeps to compare with is left as it was.
  assert.deepEqual(reported.hostIPs, [{ ip: '10.0.0.5' }]);
});
