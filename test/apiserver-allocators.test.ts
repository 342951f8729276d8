// Two `berth server` processes on one etcd, as an HA control plane runs them: Services created
// through both at once never share a ClusterIP or a node port, since each value is taken by a
// compare-and-set key in the shared store.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeClient, Resources } from '../src/cluster/client/kube-client.js';
import { run } from '../src/core/exec.js';
import { startCluster } from './helpers/cluster.js';
import { startEtcd } from './helpers/etcd.js';
import { berthBin, sandbox } from './helpers/sandbox.js';

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

test('--service-cidr: the kubernetes and kube-dns Services, new ClusterIPs and the certificate follow it; a bad range is refused', async (t) => {
  const c = await startCluster(t, { args: ['--service-cidr', '10.96.0.0/20'] });
  const ipOf = async (args: string[]) => {
    const r = await c.kubectl(['get', 'svc', ...args, '-o', 'jsonpath={.spec.clusterIP}']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(await ipOf(['kubernetes']), '10.96.0.1');
  assert.equal(await ipOf(['-n', 'kube-system', 'kube-dns']), '10.96.0.10');
  const made = await c.kubectl(['create', 'service', 'clusterip', 'web', '--tcp=80:8080']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(await ipOf(['web']), /^10\.96\.(1[0-5]|[1-9])\.\d{1,3}$/);
  const cert = await run('openssl', [
    'x509',
    '-noout',
    '-ext',
    'subjectAltName',
    '-in',
    join(c.dataDir, 'tls', 'server.crt'),
  ]);
  assert.match(cert.stdout, /IP Address:10\.96\.0\.1\b/);
  assert.doesNotMatch(cert.stdout, /10\.43\.0\.1\b/);
  // Refused before anything starts, naming the value.
  await c.stop();
  for (const [flag, value, why] of [
    ['--service-cidr', '10.96.0.0/8', /Invalid --service-cidr "10\.96\.0\.0\/8": the range is too large/],
    [
      '--cluster-dns',
      '10.43.0.10',
      /Invalid --cluster-dns "10\.43\.0\.10": an IPv4 address in --service-cidr 10\.96\.0\.0\/20/,
    ],
  ] as const) {
    const r = await c.box.exec(berthBin, [...c.serverArgs, flag, value], { check: false });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, why);
  }
});
