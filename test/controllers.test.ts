// The scheduler and the ReplicaSet and Deployment controllers, end to end: a real berth
// server, simulated nodes, and the real kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { metaTime } from '../src/cluster/api/meta-time.js';
import { startCluster, startSim, type TestCluster, until } from './helpers/cluster.js';
import { berthBin } from './helpers/sandbox.js';

describe('controllers over simulated nodes', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, { controllers: '*' });
    await startSim(c, ['--count', '3', '--cpu', '4', '--job-seconds', '1']);
  });
  after(() => c.box.cleanup());
  const k = (args: string[]) => c.ok(args);

  test('a Deployment rolls out, spreads over nodes, updates without dropping ready pods, and undoes', async () => {
    await k(['create', 'deployment', 'web', '--image=nginx:1', '--replicas=3']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    const nodes = (
      await k(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}'])
    ).split(' ');
    assert.equal(new Set(nodes).size, 3, `spread over three nodes: ${nodes}`);
    await k([
      'patch',
      'deploy/web',
      '-p',
      '{"spec":{"strategy":{"rollingUpdate":{"maxUnavailable":0,"maxSurge":1}}}}',
    ]);
    let minReady = Number.POSITIVE_INFINITY;
    let done = false;
    const watcher = (async () => {
      while (!done) {
        const r = await c.kubectl(['get', 'pods', '-l', 'app=web', '-o', 'json']);
        const pods = JSON.parse(r.stdout).items as {
          status?: { conditions?: { type: string; status: string }[] };
        }[];
        const ready = pods.filter((p) =>
          p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
        ).length;
        minReady = Math.min(minReady, ready);
      }
    })();
    await k(['set', 'image', 'deploy/web', 'nginx=nginx:2']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    done = true;
    await watcher;
    assert.ok(minReady >= 3, `ready pods dropped to ${minReady} during a maxUnavailable=0 rollout`);
    const images = await k([
      'get',
      'pods',
      '-l',
      'app=web',
      '-o',
      'jsonpath={.items[*].spec.containers[0].image}',
    ]);
    assert.deepEqual(images.split(' '), ['nginx:2', 'nginx:2', 'nginx:2']);
    assert.match(await k(['rollout', 'history', 'deploy/web']), /2\s+<none>/);
    await k(['rollout', 'undo', 'deploy/web']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    assert.equal(
      await k(['get', 'deploy/web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
      'nginx:1',
    );
    const rs = await k(['get', 'rs', '-o', 'jsonpath={range .items[*]}{.spec.replicas} {end}']);
    assert.deepEqual(rs.trim().split(' ').sort(), ['0', '3'], 'undo reuses the first ReplicaSet');
    await k(['scale', 'deploy/web', '--replicas=1']);
    await k(['rollout', 'status', 'deploy/web', '--timeout=60s']);
    assert.equal((await k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim().split('\n').length, 1);
  });

  test('a pod that fits nowhere says why and is retried when the cluster changes', async () => {
    await k(['create', 'deployment', 'big', '--image=x', '--replicas=1']);
    await k(['set', 'resources', 'deploy/big', '--requests=cpu=10']);
    let events = '';
    await until('a FailedScheduling event', async () => {
      events = await k([
        'get',
        'events',
        '--field-selector',
        'reason=FailedScheduling',
        '-o',
        'jsonpath={.items[*].message}',
      ]);
      return /Insufficient cpu/.test(events);
    });
    assert.match(events, /0\/3 nodes are available: 3 Insufficient cpu\./);
    // A bigger node joins: the pending pod is scheduled onto it.
    const more = c.box.spawn(
      berthBin,
      [
        'sim',
        'nodes',
        '--count',
        '1',
        '--cpu',
        '16',
        '--name-prefix',
        'large-',
        '--kubeconfig',
        c.kubeconfig,
      ],
      {
        stdio: 'ignore',
      },
    );
    void more;
    await k(['rollout', 'status', 'deploy/big', '--timeout=60s']);
    const node = await k([
      'get',
      'pods',
      '-l',
      'app=big',
      '--field-selector',
      'status.phase=Running',
      '-o',
      'jsonpath={.items[0].spec.nodeName}',
    ]);
    assert.equal(node, 'large-0');
  });
  test('pause, resume, restart; minReadySeconds; a rollout that cannot progress fails its deadline', async () => {
    await k(['create', 'deployment', 'pr', '--image=nginx:1', '--replicas=2']);
    await k(['rollout', 'status', 'deploy/pr', '--timeout=60s']);
    // describe explains: the Deployment's scaling and the ReplicaSet's pod creations (events
    // are written in the background, so they may trail the rollout a little).
    await until('describe shows the scaling', async () =>
      /ScalingReplicaSet\s+\S+(?: \(x\d+ over \S+\))?\s+deployment-controller\s+Scaled up replica set pr-\w+ from 0 to 2/.test(
        await k(['describe', 'deploy/pr']),
      ),
    );
    await until('describe shows the pod creations', async () =>
      /SuccessfulCreate\s.*Created pod: pr-/.test(await k(['describe', 'rs', '-l', 'app=pr'])),
    );
    await k(['rollout', 'pause', 'deploy/pr']);
    await k(['set', 'image', 'deploy/pr', 'nginx=nginx:2']);
    // The controller has seen the new template once it reports that generation as observed.
    await until('the paused Deployment observed', async () => {
      const g = await k([
        'get',
        'deploy/pr',
        '-o',
        'jsonpath={.metadata.generation} {.status.observedGeneration}',
      ]);
      const [gen, seen] = g.split(' ');
      return gen === seen;
    });
    assert.equal(
      (await k(['get', 'rs', '-l', 'app=pr', '-o', 'name'])).trim().split('\n').length,
      1,
      'no new ReplicaSet while paused',
    );
    await k(['rollout', 'resume', 'deploy/pr']);
    await k(['rollout', 'status', 'deploy/pr', '--timeout=60s']);
    await k(['rollout', 'restart', 'deploy/pr']);
    await k(['rollout', 'status', 'deploy/pr', '--timeout=60s']);
    assert.match(await k(['rollout', 'history', 'deploy/pr']), /3\s+<none>/);
    // minReadySeconds: pods count as available only after 2 s of readiness.
    await k(['patch', 'deploy/pr', '-p', '{"spec":{"minReadySeconds":2}}']);
    await k(['set', 'image', 'deploy/pr', 'nginx=nginx:3']);
    const t0 = Date.now();
    await k(['rollout', 'status', 'deploy/pr', '--timeout=60s']);
    assert.ok(Date.now() - t0 >= 2000, 'the rollout waited for minReadySeconds');
    // A template whose pods can never be placed: no progress, and rollout status says so.
    await k(['patch', 'deploy/pr', '-p', '{"spec":{"progressDeadlineSeconds":3,"minReadySeconds":0}}']);
    await k(['set', 'resources', 'deploy/pr', '--requests=cpu=100']);
    const r = await c.kubectl(['rollout', 'status', 'deploy/pr', '--timeout=60s']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded its progress deadline/);
  });
  test('garbage collection: background, orphan and foreground deletion of a Deployment', async () => {
    const names = async (kind: string, app: string) =>
      (await k(['get', kind, '-l', `app=${app}`, '-o', 'name'])).trim();
    for (const d of ['gc1', 'gc2', 'gc3']) {
      await k(['create', 'deployment', d, '--image=nginx:1', '--replicas=2']);
      await k(['rollout', 'status', `deploy/${d}`, '--timeout=60s']);
    }
    await k(['delete', 'deploy', 'gc1']);
    await until('gc1 ReplicaSet and pods to go', async () => !(await names('rs,pods', 'gc1')));
    await k(['delete', 'deploy', 'gc2', '--cascade=orphan']);
    const rs = JSON.parse(await k(['get', 'rs', '-l', 'app=gc2', '-o', 'json'])).items;
    assert.equal(rs.length, 1, 'the orphaned ReplicaSet stays');
    assert.equal(rs[0].metadata.ownerReferences, undefined, 'and has no owner');
    assert.equal((await names('pods', 'gc2')).split('\n').length, 2, 'its pods stay');
    // Foreground: kubectl waits until the Deployment is gone, which is after its dependents.
    await k(['delete', 'deploy', 'gc3', '--cascade=foreground', '--timeout=60s']);
    assert.equal(await names('rs,pods', 'gc3'), '', 'dependents went first');
  });
  test('a new namespace gets a default ServiceAccount and the root CA, and gets them back', async () => {
    const has = async (args: string[]) => (await c.kubectl(args)).code === 0;
    const exists = (args: string[]) => until(`kubectl ${args.join(' ')}`, () => has(args));
    await k(['create', 'namespace', 'team2']);
    await exists(['-n', 'team2', 'get', 'serviceaccount', 'default']);
    await exists(['-n', 'team2', 'get', 'configmap', 'kube-root-ca.crt']);
    assert.match(
      await k(['-n', 'team2', 'get', 'configmap', 'kube-root-ca.crt', '-o', 'jsonpath={.data.ca\\.crt}']),
      /BEGIN CERTIFICATE/,
    );
    await k(['-n', 'team2', 'delete', 'serviceaccount', 'default']);
    await exists(['-n', 'team2', 'get', 'serviceaccount', 'default']);
  });
  test('a Service gets Endpoints and EndpointSlices of its ready pods, following scale and deletion', async () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: epd}
spec:
  replicas: 3
  selector: {matchLabels: {app: epd}}
  template:
    metadata: {labels: {app: epd}}
    spec: {containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: eps}
spec:
  selector: {app: epd}
  ports: [{name: web, port: 80, targetPort: http}]
`;
    const applied = await c.kubectl(['apply', '-f', '-'], { input: manifest });
    assert.equal(applied.code, 0, applied.stderr);
    await k(['rollout', 'status', 'deploy/epd', '--timeout=60s']);
    const ips = async () =>
      JSON.parse(await k(['get', 'endpoints', 'eps', '-o', 'json'])).subsets?.[0]?.addresses?.length ?? 0;
    const sliceCount = async () => {
      const items = JSON.parse(
        await k(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=eps', '-o', 'json']),
      ).items as { endpoints?: unknown[]; ports?: { port: number }[] }[];
      return {
        n: items.reduce((a, s) => a + (s.endpoints?.length ?? 0), 0),
        port: items[0]?.ports?.[0]?.port,
      };
    };
    await until('3 endpoint addresses', async () => (await ips()) === 3);
    await until('3 slice endpoints', async () => (await sliceCount()).n === 3);
    assert.equal((await sliceCount()).port, 8080, 'the named target port resolves to the container port');
    assert.match(await k(['describe', 'svc', 'eps']), /Endpoints:\s+10\.\S+:8080,10\.\S+:8080/);
    await k(['scale', 'deploy/epd', '--replicas=1']);
    await until('1 endpoint address', async () => (await ips()) === 1);
    await until('1 slice endpoint', async () => (await sliceCount()).n === 1);
    await k(['delete', 'svc', 'eps']);
    await until('Endpoints and slices gone', async () => {
      const ep = await c.kubectl(['get', 'endpoints', 'eps']);
      return ep.code !== 0 && (await sliceCount()).n === 0;
    });
  });
  test('Jobs complete within their parallelism (Indexed too); a CronJob starts its missed run', async () => {
    const jobYaml = (name: string, extra: string) => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
  completions: 4
  parallelism: 2
${extra}  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
`;
    for (const [name, extra] of [
      ['batch', ''],
      ['indexed', '  completionMode: Indexed\n'],
    ]) {
      const r = await c.kubectl(['apply', '-f', '-'], { input: jobYaml(name!, extra!) });
      assert.equal(r.code, 0, r.stderr);
    }
    // Every state of job/batch that the API server records from here on, as "active/succeeded".
    const watch = c.box.spawn(
      'kubectl',
      ['get', 'job', 'batch', '--watch', '-o', 'jsonpath={.status.active}/{.status.succeeded}{"\\n"}'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: c.kubectlEnv },
    );
    let states = '';
    watch.stdout?.on('data', (d: Buffer) => {
      states += d.toString();
    });
    try {
      await k(['wait', '--for=condition=complete', 'job/batch', 'job/indexed', '--timeout=60s']);
      await until(
        () => `the watch seeing job/batch finish; it saw ${JSON.stringify(states)}`,
        async () => /^0?\/4$/m.test(states),
      );
    } finally {
      watch.kill();
    }
    const maxActive = Math.max(...states.split('\n').map((l) => Number(l.split('/')[0] || 0)));
    assert.ok(maxActive <= 2, `at most 2 active, saw ${maxActive}`);
    assert.equal(await k(['get', 'job', 'batch', '-o', 'jsonpath={.status.succeeded}']), '4');
    assert.equal(await k(['get', 'job', 'indexed', '-o', 'jsonpath={.status.completedIndexes}']), '0-3');
    const indexes = (
      await k([
        'get',
        'pods',
        '-l',
        'batch.kubernetes.io/job-name=indexed',
        '-o',
        'jsonpath={.items[*].metadata.labels.batch\\.kubernetes\\.io/job-completion-index}',
      ])
    )
      .split(' ')
      .sort();
    assert.deepEqual(indexes, ['0', '1', '2', '3']);
    // A CronJob whose last run was long ago starts the missed one at once.
    await k(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=* * * * *', '--', 'true']);
    await k([
      'patch',
      'cronjob',
      'tick',
      '--subresource=status',
      '--type=merge',
      '-p',
      `{"status":{"lastScheduleTime":"${metaTime(Date.now() - 10 * 60_000)}"}}`,
    ]);
    let jobs = '';
    await until('the missed time ran', async () => {
      jobs = (await k(['get', 'jobs', '-o', 'name']))
        .split('\n')
        .filter((j) => j.startsWith('job.batch/tick-'))
        .join();
      return jobs !== '';
    });
    assert.match(jobs, /^job\.batch\/tick-\d+$/);
    await k(['wait', '--for=condition=complete', jobs, '--timeout=60s']);
    // kubectl create job --from=cronjob is client side: it must make a Job the controller runs.
    await k(['create', 'job', 'manual', '--from=cronjob/tick']);
    await k(['wait', '--for=condition=complete', 'job/manual', '--timeout=60s']);
    const bad = await c.kubectl(['create', 'cronjob', 'bad', '--image=busybox', '--schedule=61 * * * *']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec.schedule: Invalid value: "61 \* \* \* \*"/);
  });
});
