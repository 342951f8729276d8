// Services across nodes (issue 14's tests): two nodes, each an agent in a network namespace of
// its own joined by a wire the test makes (test/helpers/multinode.ts). A Deployment of busybox
// httpd pods spread over both nodes sits behind a LoadBalancer Service; a client pod on n0
// reaches every pod by IP, by the Service's short and full names, through the node port on each
// node's address and through each load balancer address (those two from the wire, outside the
// cluster); scaling down loses no request sent after the EndpointSlice changed; a pod on n1
// reaches the API server at https://kubernetes.default.svc with its ServiceAccount's token and
// CA and is that ServiceAccount there; a node that leaves takes its routes and its load balancer
// address with it. Nothing touches the host's own network.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { until } from './helpers/cluster.js';
import { inPod, type MultiNode, podContainer, startMultiNode } from './helpers/multinode.js';
import { isRoot, type Sandbox } from './helpers/sandbox.js';
import { toolsRootfsTar } from './helpers/tools-image.js';

const sa = '/var/run/secrets/kubernetes.io/serviceaccount';

describe('Services across two nodes', { skip: !isRoot }, () => {
  let m: MultiNode;
  const json = (args: string[]) => m.cluster.json(args);
  const apply = (obj: unknown) => m.cluster.apply(obj);
  const pod = (name: string, node: string, extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'main', image: 'tools:local', imagePullPolicy: 'Never', command: ['sleep', '100000'] },
      ],
      ...extra,
    },
  });
  /** The web pods that are not going away: name, address and node. */
  const webPods = async () =>
    (
      (await json(['get', 'pods', '-l', 'app=web'])).items as {
        metadata: { name: string; deletionTimestamp?: string };
        spec: { nodeName: string };
        status: { podIP?: string; phase: string };
      }[]
    )
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => ({ name: p.metadata.name, ip: p.status.podIP ?? '', node: p.spec.nodeName }));
  /** The endpoints a node's rules send `web/http` to, read from its nftables chain. */
  const programmed = async (box: Sandbox) => {
    const r = await box.exec('nft', ['list', 'chain', 'ip', 'berth-proxy', 'svc-default/web/http'], {
      check: false,
    });
    return new Set([...r.stdout.matchAll(/goto ep-\S+\/(\d+\.\d+\.\d+\.\d+)\/\d+/g)].map((x) => x[1]));
  };
  const programmedEverywhere = (ips: string[]) =>
    until(
      `every node's rules lead web to ${ips.join(', ')}`,
      async () => {
        for (const n of m.nodes) {
          const got = await programmed(n.box);
          if (got.size !== ips.length || !ips.every((ip) => got.has(ip))) return false;
        }
        return true;
      },
      30_000,
    );
  /** One HTTP GET from the client pod on n0 (curl, resolving names through the pod's resolv.conf). */
  const fromClient = async (url: string) => {
    const r = await inPod(m.nodes[0]!.box, 'client', ['curl', '-sS', '-m', '10', url]);
    return r.code === 0 ? r.stdout.trim() : `error ${r.code}: ${r.stderr.trim()}`;
  };
  /** One HTTP GET from the wire, outside the cluster. */
  const fromOutside = async (url: string) => {
    const r = await m.fromOutside('curl', ['-sS', '-m', '10', url]);
    return r.code === 0 ? r.stdout.trim() : `error ${r.code}: ${r.stderr.trim()}`;
  };
  /**
   * Asks `get` until every one of `names` has answered; every answer must be one of them.
   * Balancing is random: with 4 pods, 80 tries miss one with a chance of 4 x 0.75^80 (1e-10).
   */
  const reachesAll = async (what: string, names: string[], get: () => Promise<string>) => {
    const seen = new Set<string>();
    for (let i = 0; i < 80 && seen.size < names.length; i++) {
      const got = await get();
      assert.ok(names.includes(got), `${what}: ${got}`);
      seen.add(got);
    }
    assert.deepEqual([...seen].sort(), [...names].sort(), what);
  };

  before(async () => {
    m = await startMultiNode(undefined, { count: 2 });
    const tar = await toolsRootfsTar();
    for (const n of m.nodes) {
      const r = await n.box.berth(['import', tar, 'tools:local']);
      assert.equal(r.code, 0, r.stderr);
    }
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            // Two pods per node.
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'DoNotSchedule',
                labelSelector: { matchLabels: { app: 'web' } },
              },
            ],
            terminationGracePeriodSeconds: 10,
            containers: [
              {
                name: 'httpd',
                image: 'busybox:local',
                imagePullPolicy: 'Never',
                // Each pod answers with its own name, so a test sees which one it reached.
                command: [
                  'sh',
                  '-c',
                  'mkdir /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www',
                ],
                ports: [{ name: 'web', containerPort: 8080 }],
                // A going pod keeps serving a little while every node drops it from its rules,
                // as Kubernetes asks of servers behind Services.
                lifecycle: { preStop: { sleep: { seconds: 3 } } },
              },
            ],
          },
        },
      },
    });
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 'web' }],
      },
    });
    await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } });
    await apply(pod('client', 'n0'));
    await apply(pod('api', 'n1', { serviceAccountName: 'reader' }));
    await until(
      'web, client and api running',
      async () => {
        const pods = (await json(['get', 'pods'])).items as { status: { phase: string } }[];
        return pods.length === 6 && pods.every((p) => p.status.phase === 'Running');
      },
      120_000,
    );
  });
  after(() => m?.cleanup());

  test('a pod on n0 reaches every pod of the Deployment, on both nodes, by IP', async () => {
    const pods = await webPods();
    assert.deepEqual(pods.map((p) => p.node).sort(), ['n0', 'n0', 'n1', 'n1']);
    for (const p of pods) assert.equal(await fromClient(`http://${p.ip}:8080/`), p.name);
  });

  test('by the Service name, short and fully qualified, every pod answers', async () => {
    const pods = await webPods();
    await programmedEverywhere(pods.map((p) => p.ip));
    const names = pods.map((p) => p.name);
    await reachesAll('web', names, () => fromClient('http://web/'));
    await reachesAll('web.default.svc.cluster.local', names, () =>
      fromClient('http://web.default.svc.cluster.local/'),
    );
  });

  test("the node port answers on each node's address and the load balancer addresses, from outside", async () => {
    const svc = await json(['get', 'svc', 'web']);
    const nodePort = svc.spec.ports[0].nodePort as number;
    const names = (await webPods()).map((p) => p.name);
    for (const n of m.nodes)
      await reachesAll(`node port on ${n.name}`, names, () => fromOutside(`http://${n.ip}:${nodePort}/`));
    const ingress = async () =>
      (((await json(['get', 'svc', 'web'])).status.loadBalancer?.ingress ?? []) as { ip: string }[])
        .map((i) => i.ip)
        .sort();
    const nodeIPs = m.nodes.map((n) => n.ip).sort();
    await until(
      'both nodes in the load balancer status',
      async () => JSON.stringify(await ingress()) === JSON.stringify(nodeIPs),
    );
    for (const ip of nodeIPs)
      await reachesAll(`load balancer ${ip}`, names, () => fromOutside(`http://${ip}/`));
  });

  test('a pod reaches https://kubernetes.default.svc with its token and CA, as its ServiceAccount', async () => {
    const n1 = m.nodes[1]!.box;
    const api = (method: string, path: string, body?: unknown) =>
      inPod(n1, 'api', [
        'sh',
        '-c',
        // The token is read in the pod; curl checks the server against the mounted CA (no -k).
        `curl -sS -m 20 --cacert ${sa}/ca.crt -H "Authorization: Bearer $(cat ${sa}/token)" -H 'Content-Type: application/json' -X ${method} ${body ? `-d '${JSON.stringify(body)}'` : ''} https://kubernetes.default.svc${path}`,
      ]);
    const review = await api('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
    });
    assert.equal(review.code, 0, review.stderr);
    const user = JSON.parse(review.stdout).status.userInfo;
    assert.equal(user.username, 'system:serviceaccount:default:reader');
    assert.ok(user.groups.includes('system:serviceaccounts:default'), JSON.stringify(user));
    // What the ServiceAccount may not do is refused by name.
    const secrets = await api('GET', '/api/v1/namespaces/kube-system/secrets');
    assert.equal(secrets.code, 0, secrets.stderr);
    const status = JSON.parse(secrets.stdout);
    assert.equal(status.code, 403, secrets.stdout);
    assert.match(
      status.message,
      /User "system:serviceaccount:default:reader" cannot list resource "secrets"/,
    );
  });

  test('scaling down loses no request sent after the EndpointSlice changed', async () => {
    const n0 = m.nodes[0]!.box;
    const ip = (await json(['get', 'svc', 'web'])).spec.clusterIP as string;
    await programmedEverywhere((await webPods()).map((p) => p.ip));
    // The client asks in a loop in the background, one numbered line per request in /tmp/log,
    // until /tmp/stop exists; a last line says it stopped.
    const loop = await n0.berth([
      'exec',
      '-d',
      await podContainer(n0, 'client'),
      'sh',
      '-c',
      // (It lets go of the exec's streams first: `berth exec -d` returns once they close.)
      `exec >/tmp/log 2>&1 </dev/null; i=0; while [ ! -e /tmp/stop ]; do i=$((i+1)); if r=$(curl -sS -m 5 http://${ip}/ 2>&1); then echo "$i ok $r"; else echo "$i fail $r"; fi; done; echo stopped`,
    ]);
    assert.equal(loop.code, 0, loop.stderr);
    const log = async () =>
      (await inPod(n0, 'client', ['cat', '/tmp/log'])).stdout.split('\n').filter(Boolean);
    try {
      await until('the client is asking', async () => (await log()).length >= 10);
      const scale = await m.cluster.kubectl(['scale', 'deployment/web', '--replicas=2']);
      assert.equal(scale.code, 0, scale.stderr);
      const ready = async () =>
        (
          (await json(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web'])).items as {
            endpoints?: { conditions?: { ready?: boolean } }[];
          }[]
        )
          .flatMap((s) => s.endpoints ?? [])
          .filter((e) => e.conditions?.ready !== false).length;
      await until('the EndpointSlice has two ready endpoints', async () => (await ready()) === 2);
      // Requests numbered after the one in flight now were sent after the slice changed.
      const changedAt = (await log()).length + 1;
      const left = await webPods();
      await programmedEverywhere(left.map((p) => p.ip));
      const rulesAt = (await log()).length + 1;
      await until(
        '20 requests after every node changed its rules',
        async () => (await log()).length >= rulesAt + 20,
      );
      await inPod(n0, 'client', ['touch', '/tmp/stop']);
      await until('the loop stopped', async () => (await log()).includes('stopped'));
      const later = (await log())
        .filter((l) => l !== 'stopped')
        .map((l) => l.split(' '))
        .filter(([n]) => Number(n) > changedAt);
      assert.ok(later.length >= 20, `${later.length} requests after the change`);
      const failed = later.filter(([, result]) => result !== 'ok');
      assert.deepEqual(failed, [], `failed after the EndpointSlice changed (request ${changedAt} on)`);
      // Once every node's rules changed, only the pods that stay answer.
      const names = left.map((p) => p.name);
      for (const [n, , who] of later)
        if (Number(n) > rulesAt) assert.ok(names.includes(who ?? ''), `request ${n} answered by ${who}`);
    } finally {
      await inPod(n0, 'client', ['touch', '/tmp/stop']);
    }
  });

  test('a node that leaves takes its routes and its load balancer address with it', async () => {
    const [n0, n1] = m.nodes as [MultiNode['nodes'][0], MultiNode['nodes'][0]];
    const cidr1 = (await json(['get', 'node', 'n1'])).spec.podCIDR as string;
    const routes = async () => (await n0.box.exec('ip', ['route', 'show', 'proto', '195'])).stdout;
    assert.match(await routes(), new RegExp(`^${cidr1.replace(/\./g, '\\.')} `, 'm'));
    await n1.stopAgent();
    const del = await m.cluster.kubectl(['delete', 'node', 'n1']);
    assert.equal(del.code, 0, del.stderr);
    await until('n0 forgot the route to n1 pods', async () => !(await routes()).includes(cidr1));
    await until('the load balancer status lists n0 alone', async () => {
      const ingress = (await json(['get', 'svc', 'web'])).status.loadBalancer?.ingress ?? [];
      return JSON.stringify(ingress.map((i: { ip: string }) => i.ip)) === JSON.stringify([n0.ip]);
    });
  });
});
