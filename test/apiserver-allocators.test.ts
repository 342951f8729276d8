// Two `berth server` processes on one etcd, as an HA control plane runs them: Services created
// through both at once never share a ClusterIP or a node port, since each value is taken by a
// compare-and-set key in the shared store.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { startCluster } from './helpers/cluster.js';
import { startEtcd } from './helpers/etcd.js';
import { sandbox } from './helpers/sandbox.js';

test('200 Services created through two API servers on one etcd get distinct ClusterIPs and node ports', async (t) => {
  const etcd = await startEtcd(await sandbox(t));
  const args = ['--datastore-endpoint', `etcd://${new URL(etcd.url).host}`];
  const servers = [await startCluster(t, { args }), await startCluster(t, { args })];
  const clients = servers.map((s) => KubeClient.fromKubeconfig(s.kubeconfig));
  try {
    const made = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (clients[i % 2] as KubeClient).create(Resources.services, 'default', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: `s${i}` },
          spec: { type: i % 4 < 2 ? 'NodePort' : 'ClusterIP', ports: [{ port: 80 }] },
        }),
      ),
    );
    type Spec = { clusterIP: string; ports: { nodePort?: number }[] };
    const ips = made.map((o) => (o.spec as Spec).clusterIP);
    const ports = made.flatMap((o) =>
      (o.spec as Spec).ports.flatMap((p) => (p.nodePort ? [p.nodePort] : [])),
    );
    assert.equal(new Set(ips).size, 200);
    assert.ok(!ips.includes('10.43.0.1'), 'the kubernetes Service address was handed out');
    assert.equal(ports.length, 100);
    assert.equal(new Set(ports).size, 100);
    // An address the other server handed out is refused, in kubectl's words.
    const taken = ips[1] as string;
    const r = await (servers[0] as (typeof servers)[number]).kubectl([
      'create',
      'service',
      'clusterip',
      'again',
      '--tcp=80',
      `--clusterip=${taken}`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      new RegExp(`failed to allocate IP ${taken.replaceAll('.', '\\.')}: provided IP is already allocated`),
    );
  } finally {
    for (const c of clients) c.close();
  }
});
