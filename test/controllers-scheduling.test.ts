// The scheduler's placement rules end to end: a real berth server, three simulated nodes,
// the real kubectl. Pod anti-affinity, topology spread across zones, and preemption.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('scheduling rules over simulated nodes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '3', '--cpu', '4']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[], input?: string) => c.ok(args, input);
  const deployment = (name: string, replicas: number, podSpec: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${podSpec}`;
  const phases = async (app: string) =>
    (
      await k([
        'get',
        'pods',
        '-l',
        `app=${app}`,
        '-o',
        'jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName} {end}',
      ])
    )
      .trim()
      .split(' ')
      .filter(Boolean);

  test('required anti-affinity: one per node, and the fourth replica says why it waits', async () => {
    await k(
      ['apply', '-f', '-'],
      deployment(
        'anti',
        4,
        `      containers: [{name: c, image: x}]
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: anti}}
            topologyKey: kubernetes.io/hostname
`,
      ),
    );
    await until('three running, one pending', async () => {
      const p = await phases('anti');
      return (
        p.filter((x) => x.startsWith('Running/')).length === 3 &&
        p.filter((x) => x.startsWith('Pending')).length === 1
      );
    });
    const nodes = (await phases('anti')).filter((x) => x.startsWith('Running/')).map((x) => x.split('/')[1]);
    assert.equal(new Set(nodes).size, 3, 'each on its own node');
    await until('the reason is given', async () =>
      /didn't match pod anti-affinity rules/.test(
        await k([
          'get',
          'pods',
          '-l',
          'app=anti',
          '-o',
          "jsonpath={.items[*].status.conditions[?(@.type=='PodScheduled')].message}",
        ]),
      ),
    );
    await k(['delete', 'deploy', 'anti']);
  });

  test('topology spread: replicas balance across zones', async () => {
    await k(['label', 'node', 'sim-0', 'sim-1', 'zone=a']);
    await k(['label', 'node', 'sim-2', 'zone=b']);
    await k(
      ['apply', '-f', '-'],
      deployment(
        'spread',
        4,
        `      containers: [{name: c, image: x}]
      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: zone
        whenUnsatisfiable: DoNotSchedule
        labelSelector: {matchLabels: {app: spread}}
`,
      ),
    );
    await k(['rollout', 'status', 'deploy/spread', '--timeout=60s']);
    const zones = (await phases('spread')).map((x) => (x.split('/')[1] === 'sim-2' ? 'b' : 'a'));
    assert.equal(zones.filter((z) => z === 'b').length, 2, `two in zone b: ${zones}`);
    await k(['delete', 'deploy', 'spread']);
  });

  test('a high-priority pod preempts a lower one on a full cluster', async () => {
    await k(
      ['apply', '-f', '-'],
      `apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
`,
    );
    assert.match(await k(['get', 'priorityclasses']), /high\s+1000\s+false/);
    await k(
      ['apply', '-f', '-'],
      deployment(
        'filler',
        3,
        '      priorityClassName: low\n      containers: [{name: c, image: x, resources: {requests: {cpu: "3"}}}]\n',
      ),
    );
    await k(['rollout', 'status', 'deploy/filler', '--timeout=60s']);
    await k(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: vip, labels: {app: vip}}
spec:
  priorityClassName: high
  containers: [{name: c, image: x, resources: {requests: {cpu: "3"}}}]
`,
    );
    assert.equal(await k(['get', 'pod', 'vip', '-o', 'jsonpath={.spec.priority}']), '1000');
    await until(
      'vip runs',
      async () => (await k(['get', 'pod', 'vip', '-o', 'jsonpath={.status.phase}'])) === 'Running',
    );
    await until(
      'one filler waits',
      async () => (await phases('filler')).filter((p) => p.startsWith('Pending')).length === 1,
    );
    assert.match(
      await k([
        'get',
        'events',
        '--field-selector',
        'reason=Preempted',
        '-o',
        'jsonpath={.items[*].message}',
      ]),
      /Preempted by pod .* on node sim-/,
    );
    const unknown = await c.kubectl([
      'run',
      'x',
      '--image=x',
      '--overrides={"spec":{"priorityClassName":"nope"}}',
    ]);
    assert.match(unknown.stderr, /no PriorityClass with name nope was found/);
  });
});
