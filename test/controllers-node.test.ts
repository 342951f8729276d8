// Node lifecycle end to end: a real berth server with short node timeouts, two groups of
// simulated nodes, and the real kubectl. Stopping one group is a node failure: its nodes turn
// NotReady with the unreachable taints, and their pods are evicted and replaced elsewhere.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('node lifecycle over simulated nodes', () => {
  let c: TestCluster;
  const sim = (prefix: string) =>
    startSim(c, ['--count', '2', '--name-prefix', prefix, '--heartbeat-seconds', '1']);
  before(async () => {
    c = await startCluster(undefined, {
      controllers: '*',
      args: ['--node-monitor-grace-period', '4', '--default-toleration-seconds', '2'],
    });
  });
  after(() => c.box.cleanup());
  const k = (args: string[]) => c.ok(args);

  test('a node that stops heartbeating goes NotReady, is tainted, and its pods move', async () => {
    const a = await sim('a-');
    await sim('b-');
    await k(['create', 'deployment', 'web', '--image=nginx', '--replicas=4']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    // Evicted pods on the silent nodes stay Terminating (their agent cannot confirm that they
    // stopped), as in Kubernetes: only the pods not being deleted count.
    const placement = async () =>
      (
        JSON.parse(await k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items as {
          metadata: { deletionTimestamp?: string };
          spec: { nodeName: string };
        }[]
      )
        .filter((p) => !p.metadata.deletionTimestamp)
        .map((p) => p.spec.nodeName);
    assert.ok(
      (await placement()).some((n) => n.startsWith('a-')),
      'some pods on the a- nodes',
    );
    // The pods carry the default tolerations the API server adds.
    assert.match(
      await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].spec.tolerations}']),
      /node.kubernetes.io\/unreachable.*"tolerationSeconds":2/,
    );
    a.kill('SIGKILL');
    let nodes = '';
    await until('a-0 NotReady', async () => {
      nodes = await k(['get', 'nodes']);
      return /a-0\s+NotReady/.test(nodes);
    });
    assert.match(nodes, /b-0\s+Ready/);
    let taints = '';
    await until('a-0 tainted unreachable', async () => {
      taints = await k(['get', 'node', 'a-0', '-o', 'jsonpath={.spec.taints}']);
      return /unreachable/.test(taints);
    });
    assert.match(taints, /"key":"node.kubernetes.io\/unreachable"/);
    assert.match(taints, /"effect":"NoExecute"/);
    // After the 2 s toleration the pods are evicted and replaced on the b- nodes.
    let where: string[] = [];
    await until(
      'the pods moved to the b- nodes',
      async () => {
        where = await placement();
        return where.length === 4 && where.every((n) => n.startsWith('b-'));
      },
      30_000,
    );
    assert.deepEqual(
      where.map((n) => n.slice(0, 2)),
      ['b-', 'b-', 'b-', 'b-'],
    );
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    assert.match(
      await k([
        'get',
        'events',
        '--field-selector',
        'reason=TaintManagerEviction',
        '-o',
        'jsonpath={.items[*].message}',
      ]),
      /Marking for deletion Pod default\/web-/,
    );
  });
});
