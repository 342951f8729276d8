// A node's certificates over their life, with the real server and its embedded agent: with
// --cluster-signing-duration 30s the agent renews its client and serving certificates through
// new CSRs 70-90% into their life (the second client renewal with the first renewed
// certificate), keeps renewing its Lease and serving the API server past the first
// certificates' end (the API server checks each request's certificate, and verifies the
// agent's serving certificate, refusing it for another node), and after a kill -9 and restart
// uses the renewed certificate on disk instead of joining again.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster, until } from './helpers/cluster.js';

interface Csr {
  metadata: { creationTimestamp: string };
  spec: { username: string; signerName: string };
  status: { conditions?: { type: string; message: string }[]; certificate?: string };
}

describe('node certificate rotation', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster(undefined, {
      controllers: '*',
      agent: true,
      args: [
        ...['--pod-runtime', 'sim', '--node-name', 'n1', '--node-ip', '127.0.0.1', '--kubelet-port', '0'],
        ...['--cluster-signing-duration', '30s'],
      ],
    });
  });
  after(() => c.box.cleanup());

  const pem = (name: string) => new X509Certificate(readFileSync(join(c.dataDir, 'agent', `${name}.pem`)));
  const csrs = async (): Promise<Csr[]> => (await c.json(['get', 'csr'])).items;
  const apply = (o: unknown) => c.apply(o);
  const pod = (name: string, nodeName: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  });
  const leaseRenewedAfter = (ms: number) => async () => {
    const r = await c.kubectl([
      'get',
      'lease',
      'n1',
      '-n',
      'kube-node-lease',
      '-o',
      'jsonpath={.spec.renewTime}',
    ]);
    return Date.parse(r.stdout) > ms;
  };

  test('client and serving certificates are renewed through CSRs and the node works past the first ones', async () => {
    await until(
      'the serving certificate',
      async () => existsSync(join(c.dataDir, 'agent', 'serving.pem')),
      30_000,
    );
    const first = { client: pem('client'), serving: pem('serving') };
    const life = (x: X509Certificate) => Date.parse(x.validTo) - Date.parse(x.validFrom);
    assert.ok(life(first.client) <= 31_000, `client certificate life ${life(first.client)} ms`);
    await until(
      'the client certificate renewed',
      async () => pem('client').serialNumber !== first.client.serialNumber,
      60_000,
    );
    await until(
      'the serving certificate renewed',
      async () => pem('serving').serialNumber !== first.serving.serialNumber,
      60_000,
    );
    // The embedded agent's other requests go through the server's local socket; its renewals
    // go over HTTPS with its certificate, so a second renewal, made after the first
    // certificate's end, shows that the client moved to the renewed one.
    const second = pem('client');
    await until(
      'the client certificate renewed a second time',
      async () =>
        pem('client').serialNumber !== second.serialNumber && Date.now() > Date.parse(first.client.validTo),
      60_000,
    );
    // Renewed by the node itself, approved as a node renewing its own certificate.
    const renewals = (await csrs()).filter(
      (x) =>
        x.spec.username === 'system:node:n1' &&
        x.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet',
    );
    assert.ok(renewals.length >= 1);
    assert.equal(
      renewals[0]?.status.conditions?.[0]?.message,
      'Auto approving self kubelet client certificate after SubjectAccessReview.',
    );
    const end = Math.max(Date.parse(first.client.validTo), Date.parse(first.serving.validTo));
    await until('a Lease renewal after the first certificates expired', leaseRenewedAfter(end), 60_000);
    // The API server reaches the agent, verifying its renewed serving certificate: the answer
    // is the agent's own (simulated pods keep no logs).
    await apply(pod('here', 'n1'));
    const logs = await c.kubectl(['logs', 'here']);
    assert.match(logs.stderr, /This node runs no containers with logs/);
  });

  test("the API server refuses an agent whose serving certificate is not the node's it dials", async () => {
    // An impostor Node that points at n1's endpoint: n1's certificate names the address, not the node.
    const port = await c.kubectl([
      'get',
      'node',
      'n1',
      '-o',
      'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}',
    ]);
    await apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'impostor' } });
    const status = await c.kubectl([
      'patch',
      'node',
      'impostor',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: Number(port.stdout) } },
        },
      }),
    ]);
    assert.equal(status.code, 0, status.stderr);
    await apply(pod('stranded', 'impostor'));
    const logs = await c.kubectl(['logs', 'stranded']);
    assert.notEqual(logs.code, 0);
    assert.match(
      logs.stderr,
      /Cannot reach the agent of node impostor: the serving certificate at 127\.0\.0\.1 is issued to "system:node:n1", not to node impostor/,
    );
    await c.kubectl(['delete', 'pod', 'stranded', '--grace-period=0', '--force']);
    await c.kubectl(['delete', 'node', 'impostor']);
  });

  test('after a kill -9 and restart the node uses its renewed certificate and does not join again', async () => {
    // Join requests made since `ms` (the first join's is gone once its 30 s certificate
    // expired: the csrcleaner removes it).
    const joinsSince = async (ms: number) =>
      (await csrs()).filter(
        (x) => x.spec.username === 'system:bootstrap:berth' && Date.parse(x.metadata.creationTimestamp) >= ms,
      ).length;
    // Restart just after a renewal, so the certificate on disk has most of its 30 s left.
    const serial = pem('client').serialNumber;
    await until('the next renewal', async () => pem('client').serialNumber !== serial, 60_000);
    await c.restart();
    const restarted = Date.now();
    await until('a Lease renewal after the restart', leaseRenewedAfter(restarted), 30_000);
    // creationTimestamp has whole seconds.
    assert.equal(await joinsSince(Math.floor(restarted / 1000) * 1000 - 1000), 0);
  });
});
