// NetworkPolicy across two nodes (test/helpers/multinode.ts: each node an agent in a network
// namespace of its own on one wire, pods routed host-gw): each node enforces its own pods'
// policies, with peers running on the other node. A web pod on n1 accepts only the client on
// n0; the client's egress allow-list on n0 lets it reach web but not web2 on n1.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { until } from './helpers/cluster.js';
import { inPod, type MultiNode, startMultiNode } from './helpers/multinode.js';
import { isRoot } from './helpers/sandbox.js';

const serve = 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www';
const pod = (name: string, node: string, labels: Record<string, string>, script: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [
      { name: 'main', image: 'busybox:local', imagePullPolicy: 'Never', command: ['sh', '-c', script] },
    ],
  },
});
const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name },
  spec,
});

describe('NetworkPolicy across two nodes', { skip: !isRoot }, () => {
  let m: MultiNode;
  const ips: Record<string, string> = {};
  before(async () => {
    m = await startMultiNode(undefined, { count: 2, backend: 'host-gw' });
    await m.cluster.apply(
      pod('web', 'n1', { app: 'web' }, serve),
      pod('web2', 'n1', { app: 'web2' }, serve),
      pod('client', 'n0', { role: 'client' }, 'exec sleep 100000'),
      pod('other', 'n0', {}, 'exec sleep 100000'),
    );
    await until(
      'pods running',
      async () => {
        const pods = (await m.cluster.json(['get', 'pods'])).items as {
          metadata: { name: string };
          status: { phase: string; podIP?: string };
        }[];
        for (const p of pods) if (p.status.podIP) ips[p.metadata.name] = p.status.podIP;
        return pods.length === 4 && pods.every((p) => p.status.phase === 'Running' && p.status.podIP);
      },
      120_000,
    );
  });
  after(() => m?.cleanup());

  const apply = (obj: unknown) => m.cluster.apply(obj);
  /** An HTTP GET from a pod on n0 to a pod on n1: whether the page came back. */
  const reaches = async (from: string, to: string) => {
    const r = await inPod(m.nodes[0]!.box, from, [
      'timeout',
      '3',
      'wget',
      '-q',
      '-O',
      '-',
      `http://${ips[to]}:8080/`,
    ]);
    return r.code === 0 && r.stdout.trim() === to;
  };
  const expectReach = async (want: Record<string, boolean>) => {
    for (const [pair, ok] of Object.entries(want)) {
      const [from, to] = pair.split('->') as [string, string];
      await until(
        `${from} ${ok ? 'reaches' : 'does not reach'} ${to}`,
        async () => (await reaches(from, to)) === ok,
      );
    }
  };

  test('ingress on n1 admits a peer on n0 by its labels', async () => {
    await expectReach({ 'client->web': true, 'other->web': true });
    await apply(
      policy('web-from-client', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
      }),
    );
    await expectReach({ 'other->web': false, 'client->web': true, 'other->web2': true });
  });

  test('egress on n0 reaches only what its allow-list names on n1', async () => {
    await apply(
      policy('client-out', {
        podSelector: { matchLabels: { role: 'client' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
      }),
    );
    await expectReach({ 'client->web2': false, 'client->web': true });
    const n0 = await m.nodes[0]!.box.exec('nft', [
      'list',
      'chain',
      'inet',
      'berth-netpol',
      'egress-default/client',
    ]);
    assert.match(n0.stdout, /drop/);
  });
});
