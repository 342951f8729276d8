// Leader election: two control planes against one real API server; only the Lease holder
// runs controllers, and when it stops the other takes over.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeClient } from '../src/cluster/client/kube-client.js';
import { type ControlPlane, startControlPlane } from '../src/cluster/controllers/manager.js';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';

let c: TestCluster;
before(async () => {
  c = await startCluster(undefined); // the server runs no controllers of its own
});
after(() => c.box.cleanup());

test('one leader at a time; the other takes over when it stops', async () => {
  const client = KubeClient.fromKubeconfig(c.kubeconfig);
  const opts = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
  const a: ControlPlane = await startControlPlane(client, new Set(['serviceaccount']), {
    ...opts,
    identity: 'a',
  });
  await until('a leads', async () => a.isLeader());
  const renewTime = async () =>
    (
      await c.kubectl([
        '-n',
        'kube-system',
        'get',
        'lease',
        'berth-controller-manager',
        '-o',
        'jsonpath={.spec.renewTime}',
      ])
    ).stdout;
  const b = await startControlPlane(client, new Set(['serviceaccount']), { ...opts, identity: 'b' });
  // Two renewals by a after b started campaigning: b has had its chances and must still wait.
  const seen = new Set([await renewTime()]);
  await until('a renews twice while b campaigns', async () => seen.add(await renewTime()).size >= 3);
  assert.ok(a.isLeader() && !b.isLeader(), 'b waits while a renews');
  const holder = async () =>
    (
      await c.kubectl([
        '-n',
        'kube-system',
        'get',
        'lease',
        'berth-controller-manager',
        '-o',
        'jsonpath={.spec.holderIdentity}',
      ])
    ).stdout;
  assert.equal(await holder(), 'a');
  // The leader's controllers work: a new namespace gets its ServiceAccount.
  await c.kubectl(['create', 'namespace', 'led']);
  await until(
    'the leader made the ServiceAccount',
    async () => (await c.kubectl(['-n', 'led', 'get', 'sa', 'default'])).code === 0,
  );
  await a.stop();
  await until('b takes over', async () => b.isLeader());
  assert.equal(await holder(), 'b');
  await b.stop();
  client.close();
});
