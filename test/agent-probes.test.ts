// Probes, hooks, events and resource metrics on real containers: `berth server` with its
// embedded agent on the engine runtime in a network namespace of its own, driven by the real
// kubectl. Probe outcomes are switched by writing files into the containers with `berth exec`,
// so every step waits for an observable fact rather than for time to pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { isRoot } from './helpers/sandbox.js';

describe('node agent probes, hooks, events and metrics', { skip: !isRoot }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startAgentCluster(undefined);
  });
  after(() => c.box.cleanup());
  const json = (args: string[]) => c.json(args);
  const apply = (obj: unknown) => c.apply(obj);
  const container = (extra: Record<string, unknown>) => ({
    name: 'main',
    image: 'busybox:local',
    imagePullPolicy: 'IfNotPresent',
    ...extra,
  });
  const pod = (name: string, c0: Record<string, unknown>, labels: Record<string, string> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { terminationGracePeriodSeconds: 1, containers: [container(c0)] },
  });
  const containerStatus = async (name: string) =>
    (await json(['get', 'pod', name])).status.containerStatuses?.[0];
  /** Runs a command in a pod's running container through the engine CLI. */
  const execIn = async (name: string, cmd: string[]) => {
    const id = String((await containerStatus(name)).containerID).replace('berth://', '');
    return c.box.berth(['exec', id, ...cmd]);
  };
  const events = async (name: string) =>
    (await json(['get', 'events', '--field-selector', `involvedObject.name=${name}`])).items.map(
      (e: { reason: string; message: string }) => `${e.reason}: ${e.message}`,
    ) as string[];

  test('an httpGet readiness probe gates Ready and the Service endpoints', async () => {
    await apply(
      pod(
        'web',
        {
          command: ['sh', '-c', 'mkdir -p /www && exec httpd -f -p 8080 -h /www'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: {
            httpGet: { path: '/ready', port: 'http' },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        },
        { app: 'web' },
      ),
    );
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await until(
      'web probed and unready',
      async () =>
        (await events('web')).some((e) =>
          e.startsWith('Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 404'),
        ),
      60_000,
    );
    const st = await json(['get', 'pod', 'web']);
    assert.equal(st.status.phase, 'Running');
    assert.equal(st.status.containerStatuses[0].ready, false);
    assert.equal(st.status.conditions.find((x: { type: string }) => x.type === 'Ready').status, 'False');
    const r = await execIn('web', ['touch', '/www/ready']);
    assert.equal(r.code, 0, r.stderr);
    await until('web Ready', async () => (await containerStatus('web')).ready === true, 30_000);
    await until('web in the endpoints', async () => {
      const ep = await json(['get', 'endpoints', 'web']);
      return (ep.subsets?.[0]?.addresses ?? []).some((a: { ip: string }) => a.ip === st.status.podIP);
    });
  });

  test('a failing exec liveness probe restarts the container and counts it, with events', async () => {
    await apply(
      pod('live', {
        command: ['sh', '-c', 'touch /tmp/alive; exec sleep 1000'],
        livenessProbe: {
          exec: { command: ['test', '-f', '/tmp/alive'] },
          periodSeconds: 1,
          failureThreshold: 2,
        },
      }),
    );
    await until(
      'live running',
      async () => (await containerStatus('live'))?.state?.running !== undefined,
      60_000,
    );
    const r = await execIn('live', ['rm', '/tmp/alive']);
    assert.equal(r.code, 0, r.stderr);
    await until('live restarted', async () => (await containerStatus('live')).restartCount >= 1, 60_000);
    const ev = await events('live');
    assert.ok(
      ev.some((e) => e.startsWith('Unhealthy: Liveness probe failed')),
      ev.join('\n'),
    );
    assert.ok(ev.includes('Killing: Container main failed liveness probe, will be restarted'), ev.join('\n'));
    // The new run has the file again, so it stays up.
    await until(
      'live running again',
      async () => (await containerStatus('live')).state.running !== undefined,
    );
  });

  test('a postStart hook runs in the container; kubectl get events shows the agent events', async () => {
    await apply(
      pod('hooked', {
        command: ['sleep', '1000'],
        lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo started > /tmp/poststart'] } } },
      }),
    );
    await until(
      'hooked running',
      async () => (await containerStatus('hooked'))?.state?.running !== undefined,
      60_000,
    );
    const r = await execIn('hooked', ['cat', '/tmp/poststart']);
    assert.equal(r.stdout, 'started\n', r.stderr);
    const shown = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=hooked']);
    assert.match(shown.stdout, /Normal\s+Created\s+pod\/hooked\s+Created container: main/);
    assert.match(shown.stdout, /Normal\s+Started\s+pod\/hooked\s+Started container main/);
    assert.match(
      shown.stdout,
      /Normal\s+Pulled\s+pod\/hooked\s+Container image "busybox:local" already present on machine/,
    );
  });

  test('kubectl top nodes and pods show the agent figures', async () => {
    await apply(pod('busy', { command: ['sh', '-c', 'while :; do :; done'] }));
    await until(
      'busy running',
      async () => (await containerStatus('busy'))?.state?.running !== undefined,
      60_000,
    );
    await until(
      'top pods lists busy',
      async () => /^busy\s+\d+m\s+\d+Mi\s*$/m.test((await c.kubectl(['top', 'pods'])).stdout),
      60_000,
    );
    const nodes = await c.kubectl(['top', 'nodes']);
    assert.match(nodes.stdout, /^n1\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%\s*$/m, nodes.stderr);
    const r = await c.kubectl(['delete', 'pod', 'busy', '--timeout=60s']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('an HPA scales a Deployment on CPU, within its maximum', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'burn' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'burn' } },
        template: {
          metadata: { labels: { app: 'burn' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              container({
                command: ['sh', '-c', 'while :; do :; done'],
                resources: { requests: { cpu: '50m' } },
              }),
            ],
          },
        },
      },
    });
    await apply({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'burn' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn' },
        minReplicas: 1,
        maxReplicas: 2,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    });
    await until(
      'burn scaled to 2',
      async () => (await json(['get', 'deploy', 'burn'])).spec.replicas === 2,
      90_000,
    );
    const h = await json(['get', 'hpa', 'burn']);
    assert.equal(h.status.desiredReplicas, 2);
    assert.ok(h.status.currentMetrics[0].resource.current.averageUtilization > 50, JSON.stringify(h.status));
    const shown = await c.kubectl(['get', 'hpa', 'burn']);
    assert.match(shown.stdout, /cpu: \d+%\/50%/);
    for (const args of [
      ['delete', 'hpa', 'burn'],
      ['delete', 'deploy', 'burn'],
    ]) {
      const r = await c.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
  });
});
