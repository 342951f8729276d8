// PodDisruptionBudgets with kubectl drain, and HorizontalPodAutoscalers, end to end: a real berth server, simulated nodes, the real kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';

describe('disruption budgets, drain and autoscalers over simulated nodes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '2']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[], input?: string) => c.ok(args, input);
  const pdbStatus = async () =>
    JSON.parse(await k(['get', 'pdb', 'web', '-o', 'jsonpath={.status}'])) as Record<string, unknown>;

  test('a budget that allows no disruption blocks drain with 429s; one that allows one lets drain finish', async () => {
    await k(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: web:1}]}
`,
    );
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    // kubectl's typed create (protobuf on the wire).
    await k(['create', 'pdb', 'web', '--selector=app=web', '--min-available=3']);
    await until('the budget counts three healthy pods', async () => (await pdbStatus()).currentHealthy === 3);
    const st = await pdbStatus();
    assert.equal(st.expectedPods, 3);
    assert.equal(st.desiredHealthy, 3);
    assert.equal(st.disruptionsAllowed, 0);
    assert.equal(st.observedGeneration, 1);
    assert.deepEqual(
      (st.conditions as { type: string; status: string; reason: string }[]).map((x) => [
        x.type,
        x.status,
        x.reason,
      ]),
      [['DisruptionAllowed', 'False', 'InsufficientPods']],
    );
    assert.match(
      await k(['get', 'pdb', 'web']),
      /NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\nweb\s+3\s+N\/A\s+0\s+/,
    );

    const node = (
      await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].spec.nodeName}'])
    ).trim();
    const blocked = await c.kubectl(['drain', node, '--ignore-daemonsets', '--timeout=8s']);
    assert.notEqual(blocked.code, 0, 'drain gives up while the budget allows nothing');
    assert.match(blocked.stderr, /Cannot evict pod as it would violate the pod's disruption budget\./);
    assert.match(await k(['get', 'node', node, '-o', 'jsonpath={.spec.unschedulable}']), /true/);
    assert.equal(
      (await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ')
        .length,
      3,
      'no pod was evicted',
    );

    // The Eviction answer as kube-apiserver gives it: 429 with the DisruptionBudget cause.
    const victim = (
      await k([
        'get',
        'pods',
        '-l',
        'app=web',
        '--field-selector',
        `spec.nodeName=${node}`,
        '-o',
        'jsonpath={.items[0].metadata.name}',
      ])
    ).trim();
    const raw = await c.kubectl(
      ['create', '--raw', `/api/v1/namespaces/default/pods/${victim}/eviction`, '-f', '-'],
      { input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim } }) },
    );
    assert.notEqual(raw.code, 0);
    assert.match(raw.stderr, /Too Many Requests|TooManyRequests|429/);

    await k([
      'patch',
      'pdb',
      'web',
      '--type=merge',
      '-p',
      '{"spec":{"minAvailable":null,"maxUnavailable":1}}',
    ]);
    await until('the budget is recomputed', async () => (await pdbStatus()).observedGeneration === 2);
    assert.equal((await pdbStatus()).disruptionsAllowed, 1);
    const drained = await c.kubectl(['drain', node, '--ignore-daemonsets', '--timeout=120s']);
    assert.equal(drained.code, 0, `drain: ${drained.stderr}`);
    assert.match(drained.stdout, /evicted/);
    assert.match(drained.stdout, new RegExp(`node/${node} drained`));
    assert.equal(
      (
        await k(['get', 'pods', '-l', 'app=web', '--field-selector', `spec.nodeName=${node}`, '-o', 'name'])
      ).trim(),
      '',
    );
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    await until('the replacements count as healthy', async () => (await pdbStatus()).currentHealthy === 3);
    await k(['uncordon', node]);
  });

  test('an autoscaler scales a Deployment up to its minimum and down to its maximum without metrics', async () => {
    await k(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: c, image: api:1}]}
`,
    );
    await k(['autoscale', 'deployment', 'api', '--min=3', '--max=5', '--cpu-percent=60']);
    await until(
      'the Deployment is raised to minReplicas',
      async () => (await k(['get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])) === '3',
    );
    await k(['rollout', 'status', 'deploy/api', '--timeout=60s']);
    type Cond = { type: string; status: string; reason: string; message: string };
    const hpa = async () =>
      JSON.parse(await k(['get', 'horizontalpodautoscalers.v2.autoscaling', 'api', '-o', 'json'])) as {
        status: { conditions?: Cond[]; desiredReplicas?: number; currentReplicas?: number };
      };
    // In range, the next pass asks for metrics; without a metrics API it says so and keeps the size.
    await until(
      'ScalingActive is False for want of metrics',
      async () =>
        Boolean(
          (await hpa()).status.conditions?.some((c) => c.type === 'ScalingActive' && c.status === 'False'),
        ),
      40_000,
    );
    const st = (await hpa()).status;
    const active = st.conditions?.find((c) => c.type === 'ScalingActive');
    assert.equal(active?.reason, 'FailedGetResourceMetric');
    assert.match(active?.message ?? '', /unable to get metrics for resource cpu/);
    assert.equal(st.conditions?.find((c) => c.type === 'AbleToScale')?.status, 'True');
    assert.equal(st.desiredReplicas, 3);
    // One object, both versions: v1 has the CPU target as a number, v2 as a metric.
    assert.equal(
      await k([
        'get',
        'horizontalpodautoscalers.v1.autoscaling',
        'api',
        '-o',
        'jsonpath={.spec.targetCPUUtilizationPercentage}',
      ]),
      '60',
    );
    assert.equal(
      await k([
        'get',
        'horizontalpodautoscalers.v2.autoscaling',
        'api',
        '-o',
        'jsonpath={.spec.metrics[0].resource.target.averageUtilization}',
      ]),
      '60',
    );
    assert.match(
      await k(['get', 'hpa', 'api']),
      /NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\napi\s+Deployment\/api\s+cpu: <unknown>\/60%\s+3\s+5\s+3\s+/,
    );
    assert.match(
      await k(['describe', 'hpa', 'api']),
      /SuccessfulRescale\s+.*New size: 3; reason: Current number of replicas below Spec.MinReplicas/,
    );
    // Scaled by hand above the maximum, it is brought back down.
    await k(['scale', 'deploy/api', '--replicas=8']);
    await until(
      'the Deployment is lowered to maxReplicas',
      async () => (await k(['get', 'deploy', 'api', '-o', 'jsonpath={.spec.replicas}'])) === '5',
      40_000,
    );
  });
});
