// Cluster DNS with real containers: `berth server` and its embedded agent in a network
// namespace of their own, the real kubectl, busybox's nslookup in pods. The node's
// resolv.conf is a file of the test's (--resolv-conf) naming an upstream the test runs on the
// namespace's loopback, so no query leaves the namespace.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sleeperPod, startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { inPod } from './helpers/multinode.js';
import { isRoot, repoRoot } from './helpers/sandbox.js';

// Answers outside.test with 192.0.2.7 and NXDOMAIN for everything else (so search-domain
// attempts that reach it fail, as a real upstream's would).
const upstream = `
const dgram = require('node:dgram');
const dns = require(${JSON.stringify(join(repoRoot, 'node_modules', 'dns-packet'))});
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  const q = dns.decode(m);
  const hit = q.questions[0].name === 'outside.test';
  s.send(dns.encode({ type: 'response', id: q.id, flags: dns.RECURSION_AVAILABLE | (hit ? 0 : 3), questions: q.questions,
    answers: hit && q.questions[0].type === 'A' ? [{ type: 'A', name: 'outside.test', ttl: 60, data: '192.0.2.7' }] : [] }),
    r.port, r.address);
});
s.bind(53, '127.0.0.1', () => console.log('upstream ready'));
`;

describe('cluster DNS', { skip: !isRoot }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startAgentCluster(undefined);
    const resolv = join(c.box.dir, 'node-resolv.conf');
    writeFileSync(resolv, 'nameserver 10.43.0.10\nnameserver 127.0.0.1\nsearch corp.test\n');
    const up = c.box.spawn(process.execPath, ['-e', upstream], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => up.stdout?.once('data', () => resolve()));
    // The node's resolv.conf names the cluster DNS itself: it must not forward to itself.
    await c.stop('SIGTERM');
    await c.start(['--resolv-conf', resolv]);
  });
  after(() => c.box.cleanup());
  const json = (args: string[]) => c.json(args);
  const apply = (...objs: unknown[]) => c.apply(...objs);
  const service = (name: string, app: string, headless = false) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: {
      selector: { app },
      ...(headless ? { clusterIP: 'None' } : {}),
      ports: [{ name: 'http', port: 80 }],
    },
  });
  /** The addresses nslookup prints for `name` (after the server's own lines). */
  const lookup = async (name: string) => {
    const r = await inPod(c.box, 'client', ['nslookup', name]);
    const after = (
      r.stdout
        .split(/\nName:/)
        .slice(1)
        .join('\n') || ''
    ).trim();
    return {
      code: r.code,
      out: r.stdout + r.stderr,
      ips: [...after.matchAll(/Address:?\s+([\d.]+)/g)].map((m) => m[1]),
    };
  };

  test('pods resolve Services by short and full name, a headless Service by its pods; outside names go upstream', async () => {
    await until(
      'n1 Ready',
      async () =>
        ((await json(['get', 'node', 'n1'])).status.conditions ?? []).some(
          (x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True',
        ),
      30_000,
    );
    const dnsSvc = await json(['get', 'service', '-n', 'kube-system', 'kube-dns']);
    assert.equal(dnsSvc.spec.clusterIP, '10.43.0.10');
    assert.equal(dnsSvc.metadata.annotations['berth.dev/node-local'], 'true');
    await apply(
      sleeperPod('web', { app: 'web' }),
      sleeperPod('db-a', { app: 'db' }),
      sleeperPod('db-b', { app: 'db' }),
      sleeperPod('client', { app: 'client' }),
      service('web', 'web'),
      service('db', 'db', true),
    );
    for (const p of ['web', 'db-a', 'db-b', 'client']) await c.running(p);
    const webIP = (await json(['get', 'service', 'web'])).spec.clusterIP as string;
    const dbIPs = [
      (await json(['get', 'pod', 'db-a'])).status.podIP,
      (await json(['get', 'pod', 'db-b'])).status.podIP,
    ].sort();

    // resolv.conf as the kubelet writes it for ClusterFirst (the node's search domain last).
    const conf = await inPod(c.box, 'client', ['cat', '/etc/resolv.conf']);
    assert.equal(
      conf.stdout,
      'search default.svc.cluster.local svc.cluster.local cluster.local corp.test\nnameserver 10.43.0.10\noptions ndots:5\n',
    );

    // busybox's nslookup applies the search list to names without a dot only (it ignores
    // ndots), so partly qualified names are the resolver unit tests' business.
    for (const name of ['web', 'web.default.svc.cluster.local']) {
      let got = { code: 0, out: '', ips: [] as (string | undefined)[] };
      await until(`${name} resolves`, async () => {
        got = await lookup(name);
        return got.ips.includes(webIP);
      });
      assert.deepEqual(got.ips, [webIP], got.out);
    }
    // The headless Service's name gives its pods once both are ready endpoints.
    await until(
      'db resolves to both pods',
      async () => (await lookup('db')).ips.sort().join() === dbIPs.join(),
    );
    const missing = await lookup('nothing-here.default.svc.cluster.local');
    assert.notEqual(missing.code, 0, missing.out);
    assert.deepEqual((await lookup('outside.test')).ips, ['192.0.2.7']);
  });

  test('dnsPolicy None with dnsConfig, and Default, write the pod resolv.conf as the kubelet does', async () => {
    await apply(
      sleeperPod(
        'custom',
        { app: 'custom' },
        {
          dnsPolicy: 'None',
          dnsConfig: {
            nameservers: ['192.0.2.53'],
            searches: ['my.dns.search.suffix'],
            options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
          },
        },
      ),
      sleeperPod('nodedns', { app: 'nodedns' }, { dnsPolicy: 'Default' }),
    );
    for (const p of ['custom', 'nodedns']) await c.running(p);
    assert.equal(
      (await inPod(c.box, 'custom', ['cat', '/etc/resolv.conf'])).stdout,
      'search my.dns.search.suffix\nnameserver 192.0.2.53\noptions ndots:2 edns0\n',
    );
    assert.equal(
      (await inPod(c.box, 'nodedns', ['cat', '/etc/resolv.conf'])).stdout,
      'search corp.test\nnameserver 10.43.0.10\nnameserver 127.0.0.1\n',
    );
  });

  test('agent --cleanup removes the cluster DNS interface', async () => {
    const before = await c.box.exec('ip', ['-o', 'addr', 'show', 'dev', 'berth-dns0'], { check: false });
    assert.match(before.stdout, /10\.43\.0\.10\/32/, before.stderr);
    await c.stop('SIGTERM');
    const r = await c.box.berth(['agent', '--cleanup']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed .*the cluster DNS interface/);
    const gone = await c.box.exec('ip', ['link', 'show', 'dev', 'berth-dns0'], { check: false });
    assert.notEqual(gone.code, 0);
  });
});
