// The controller runtime end to end: a real berth server, simulated nodes and the real
// kubectl. kill -9 and restart of the server must neither double a ReplicaSet's pods (its
// workers wait for the pod cache) nor make a healthy node NotReady (heartbeats are judged by
// when the control plane saw them); a sync that fails names its object in the log and in an event.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Informer } from '../src/cluster/client/informer.js';
import { KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('controller runtime', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '4', '--name-prefix', 'r-']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[]) => c.ok(args);

  test('kill -9 and restart: never more than 20 pods, 20/20 available within 30 s, no node NotReady', async () => {
    await k(['create', 'deployment', 'web', '--image=nginx', '--replicas=20']);
    const available = async () =>
      (await c.kubectl(['get', 'deploy/web', '-o', 'jsonpath={.status.availableReplicas}'])).stdout === '20';
    await until('20/20 available', available, 60_000);

    // Watch everything the restarts could get wrong, from outside the server.
    const client = KubeClient.fromKubeconfig(c.kubeconfig);
    const pods = new Informer(client, Resources.pods);
    const nodes = new Informer(client, Resources.nodes);
    let most = 0;
    const notReady = new Set<string>();
    const count = () => {
      most = Math.max(most, pods.list().filter((p) => p.metadata.labels?.app === 'web').length);
    };
    pods.onAdd(count).onUpdate(count);
    const ready = (n: import('../src/cluster/client/kube-client.js').KubeObject) => {
      const cond = (n.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
      if (cond?.status !== 'True') notReady.add(`${n.metadata.name}: ${cond?.status} ${cond?.reason ?? ''}`);
    };
    nodes.onAdd(ready).onUpdate(ready);
    pods.start();
    nodes.start();
    try {
      await Promise.all([pods.hasSynced(), nodes.hasSynced()]);
      for (let i = 0; i < 3; i++) {
        await c.restart();
        const restarted = Date.now();
        await until(
          `restart ${i + 1}: 20/20 available and every node Ready`,
          async () =>
            (await available()) &&
            /^(True ){3}True$/.test(
              (
                await c.kubectl([
                  'get',
                  'nodes',
                  '-o',
                  'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}',
                ])
              ).stdout,
            ),
          30_000,
        );
        assert.ok(Date.now() - restarted <= 30_000);
        // This run's ReplicaSet controller works (not only the pods left by the last one): a
        // pod deleted now is replaced, and the count never goes past 20 meanwhile.
        const victim = (await k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n')[0]!;
        await k(['delete', victim, '--grace-period=0', '--force']);
        await until(`restart ${i + 1}: ${victim} replaced`, async () => {
          const names = (await c.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'name'])).stdout
            .trim()
            .split('\n');
          return names.length === 20 && !names.includes(victim) && (await available());
        });
      }
      assert.ok(most <= 20, `never more than 20 pods, saw ${most}`);
      assert.deepEqual([...notReady], [], 'no node ever left Ready');
    } finally {
      pods.stop();
      nodes.stop();
      client.close();
    }
  });

  test('a sync that fails leaves a line naming the object in the log and an event on it', async () => {
    const rs = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'doomed', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'doomed' } },
        template: {
          metadata: { labels: { app: 'doomed' } },
          // Valid for a ReplicaSet; every pod is refused by the Priority admission.
          spec: { priorityClassName: 'no-such-class', containers: [{ name: 'c', image: 'nginx' }] },
        },
      },
    };
    const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(rs) });
    assert.equal(r.code, 0, r.stderr);
    await until('a FailedCreate event on the ReplicaSet', async () =>
      /FailedCreate.*no PriorityClass with name no-such-class/.test(
        (await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=doomed'])).stdout,
      ),
    );
    await until('the failed sync in the server log, with the key', async () =>
      c
        .serverLog()
        .split('\n')
        .some(
          (l) =>
            /sync failed/.test(l) && /"key":"default\/doomed"/.test(l) && /"controller":"replicaset"/.test(l),
        ),
    );
    await k(['delete', 'rs/doomed']);
  });
});
