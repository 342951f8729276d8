// Services on a node: `berth server` with its embedded agent on the engine runtime in a network
// namespace of its own, joined to a veth "wire" that carries the node's address, driven by the
// real kubectl. busybox httpd pods behind Services are reached from another pod, from the node
// and through node ports and the load balancer address; the Service proxy's nftables table
// lives in that namespace only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sleeperPod, startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { berthBin, isRoot } from './helpers/sandbox.js';

const nodeIP = '192.168.77.1';

describe('Service proxy on the engine', { skip: !isRoot }, () => {
  let c: TestCluster;
  before(async () => {
    // The node's address on a wire whose far end is a default route: what a real node has.
    c = await startAgentCluster(undefined, { nodeIP, args: ['--bind-address', '0.0.0.0'] });
    await apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'httpd',
                image: 'busybox:local',
                imagePullPolicy: 'IfNotPresent',
                // Each pod answers with its own name, so a test sees which one it reached.
                command: [
                  'sh',
                  '-c',
                  'mkdir /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www',
                ],
                ports: [{ name: 'web', containerPort: 8080 }],
              },
            ],
          },
        },
      },
    });
    await apply(service('web', { type: 'LoadBalancer' }));
    await apply(service('sticky', { sessionAffinity: 'ClientIP' }));
    await apply(sleeperPod('client'));
    await until(
      'web and client running',
      async () => {
        const pods = (await json(['get', 'pods'])).items as { status: { phase: string } }[];
        return pods.length === 3 && pods.every((p) => p.status.phase === 'Running');
      },
      90_000,
    );
  });
  after(() => c.box.cleanup());

  const json = (args: string[]) => c.json(args);
  const apply = (obj: unknown) => c.apply(obj);
  function service(
    name: string,
    spec: Record<string, unknown>,
    selector: Record<string, string> = { app: 'web' },
  ) {
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'web' }], ...spec },
    };
  }
  const clusterIP = async (name: string): Promise<string> =>
    (await json(['get', 'svc', name])).spec.clusterIP;
  /** Runs a shell script in the client pod's container. */
  const inClient = async (script: string) => {
    const ps = await c.box.berth([
      'ps',
      '--filter',
      'label=io.kubernetes.pod.name=client',
      '--format',
      '{{.ID}}',
    ]);
    const id = ps.stdout.trim().split('\n')[0];
    assert.ok(id, `no client container: ${ps.stderr}`);
    return c.box.berth(['exec', id, 'sh', '-c', script], { check: false });
  };
  /** One HTTP GET from the client pod: the answering pod's name, or the error. */
  const getFromPod = async (url: string) => {
    const r = await inClient(`timeout 10 wget -q -O - ${url}`);
    return r.code === 0 ? r.stdout.trim() : `error ${r.code}: ${r.stderr.trim()}`;
  };
  /** One HTTP GET from the node's network namespace with curl. */
  const curl = (url: string, extra: string[] = []) =>
    c.box.exec('curl', ['-sS', '-m', '20', ...extra, url], { check: false });
  /** The endpoints the node's rules send a Service port to, read from its nftables chains. */
  const programmed = async (svcPort: string) => {
    const r = await c.box.exec('nft', ['list', 'chain', 'ip', 'berth-proxy', `svc-default/${svcPort}`], {
      check: false,
    });
    return [
      ...new Set([...r.stdout.matchAll(/goto ep-\S+\/(\d+\.\d+\.\d+\.\d+)\/\d+/g)].map((m) => m[1])),
    ].sort();
  };
  const webPods = async () =>
    (
      (await json(['get', 'pods', '-l', 'app=web'])).items as {
        metadata: { name: string; deletionTimestamp?: string };
      }[]
    )
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name)
      .sort();

  test('a ClusterIP Service spreads requests from another pod over the ready pods', async () => {
    const ip = await clusterIP('web');
    const pods = await webPods();
    await until('both endpoints programmed', async () => (await programmed('web/http')).length === 2);
    const seen = new Set<string>();
    // Random balancing: within 60 requests both pods answer unless something is wrong (2^-59).
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add(await getFromPod(`http://${ip}/`));
    assert.deepEqual([...seen].sort(), pods);
  });

  test('a NodePort answers on the node address and the LoadBalancer has the node in its status', async () => {
    const svc = await json(['get', 'svc', 'web']);
    const r = await curl(`http://${nodeIP}:${svc.spec.ports[0].nodePort}/`);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await webPods()).includes(r.stdout.trim()), r.stdout);
    await until(
      'load balancer ingress',
      async () => (await json(['get', 'svc', 'web'])).status.loadBalancer?.ingress?.[0]?.ip === nodeIP,
    );
    const lb = await curl(`http://${nodeIP}:80/`);
    assert.equal(lb.code, 0, lb.stderr);
    assert.ok((await webPods()).includes(lb.stdout.trim()), lb.stdout);
    // A pod reaching its own Service (hairpin) is answered too, by itself or the other pod.
    const ps = await c.box.berth([
      'ps',
      '--filter',
      'label=io.kubernetes.container.name=httpd',
      '--format',
      '{{.ID}}',
    ]);
    const web = ps.stdout.trim().split('\n')[0]!;
    for (let i = 0; i < 4; i++) {
      const self = await c.box.berth(
        ['exec', web, 'timeout', '10', 'wget', '-q', '-O', '-', `http://${await clusterIP('web')}/`],
        {
          check: false,
        },
      );
      assert.equal(self.code, 0, self.stderr);
    }
  });

  test('the kubernetes Service leads to the API server', async () => {
    const r = await curl('https://10.43.0.1/version', ['-k']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"kind":"Status"|"gitVersion"/);
    // From a pod: busybox's TLS cannot agree on a cipher with the server, but its error says
    // that a TLS server answered at 10.43.0.1:443.
    const p = await inClient('timeout 10 wget -q -O - --no-check-certificate https://10.43.0.1/version');
    assert.match(p.stderr, /TLS error from peer|"kind"/, p.stderr);
  });

  test('a Service without a ready endpoint refuses connections at once', async () => {
    await apply(service('empty', { type: 'NodePort' }, { app: 'nothing' }));
    const ip = await clusterIP('empty');
    const np = (await json(['get', 'svc', 'empty'])).spec.ports[0].nodePort;
    await until('empty programmed', async () => {
      const m = await c.box.exec('nft', ['list', 'map', 'ip', 'berth-proxy', 'no-endpoint-services']);
      return m.stdout.includes(ip);
    });
    // curl's 7 is "could not connect" (refused); a dropped packet would be 28 (timed out).
    for (const url of [`http://${ip}/`, `http://${nodeIP}:${np}/`]) {
      const r = await curl(url);
      assert.equal(r.code, 7, `${url}: ${r.stderr}`);
    }
    const p = await getFromPod(`http://${ip}/`);
    assert.match(p, /Connection refused/);
  });

  test('sessionAffinity ClientIP keeps a client on one pod', async () => {
    const ip = await clusterIP('sticky');
    await until('sticky programmed', async () => (await programmed('sticky/http')).length === 2);
    const first = await getFromPod(`http://${ip}/`);
    assert.ok((await webPods()).includes(first), first);
    for (let i = 0; i < 10; i++) assert.equal(await getFromPod(`http://${ip}/`), first);
  });

  test('scaling down loses no request sent after the endpoints change', async () => {
    const ip = await clusterIP('web');
    const r = await c.kubectl(['scale', 'deployment/web', '--replicas=1']);
    assert.equal(r.code, 0, r.stderr);
    await until('one endpoint programmed', async () => (await programmed('web/http')).length === 1);
    const left = await webPods();
    assert.equal(left.length, 1);
    for (let i = 0; i < 20; i++) assert.equal(await getFromPod(`http://${ip}/`), left[0]);
  });

  test('UDP flows to an endpoint that goes are flushed, so the same client reaches another', async () => {
    // busybox has no UDP server: Python's, started in each pod's network namespace, answers
    // every datagram with the pod's name.
    const server =
      'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",5353))\nprint("up",flush=True)\nwhile True:\n d,a=s.recvfrom(100)\n s.sendto(sys.argv[1].encode(),a)';
    for (const name of ['u1', 'u2']) {
      await apply(sleeperPod(name, { app: 'udp' }));
      await until(
        `${name} running`,
        async () => (await json(['get', 'pod', name])).status.phase === 'Running',
        60_000,
      );
      const id = (
        await c.box.berth(['ps', '--filter', `label=io.kubernetes.pod.name=${name}`, '--format', '{{.ID}}'])
      ).stdout.trim();
      const pid = (await c.box.berth(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim();
      const py = c.box.spawn('nsenter', [`--net=/proc/${pid}/ns/net`, 'python3', '-c', server, name], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        py.stdout?.once('data', () => resolve());
        py.once('exit', (code) => reject(new Error(`UDP server in ${name} exited with ${code}`)));
      });
    }
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'udp' },
      spec: {
        selector: { app: 'udp' },
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }],
      },
    });
    const ip = await clusterIP('udp');
    await until('udp programmed', async () => (await programmed('udp/dns')).length === 2);
    // The client always sends from port 40000: the same flow, the same conntrack entry.
    const ask = async () => {
      const r = await c.box.exec(
        'python3',
        [
          '-c',
          'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",40000))\ns.settimeout(10)\ns.sendto(b"who",(sys.argv[1],53))\nprint(s.recvfrom(100)[0].decode())',
          ip,
        ],
        { check: false },
      );
      return r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim()}`;
    };
    const first = await ask();
    assert.ok(first === 'u1' || first === 'u2', first);
    const del = await c.kubectl(['delete', 'pod', first, '--timeout=60s']);
    assert.equal(del.code, 0, del.stderr);
    await until('one udp endpoint programmed', async () => (await programmed('udp/dns')).length === 1);
    assert.equal(await ask(), first === 'u1' ? 'u2' : 'u1');
  });

  test('berth agent --cleanup removes the proxy table', async () => {
    await c.stop();
    const r = await c.box.exec(berthBin, ['agent', '--cleanup']);
    assert.equal(r.code, 0, r.stderr);
    const list = await c.box.exec('nft', ['list', 'table', 'ip', 'berth-proxy'], { check: false });
    assert.notEqual(list.code, 0);
    assert.match(list.stderr, /No such file or directory/);
  });
});
