// The built-in Ingress controller: `berth server` with its embedded agent on the engine runtime in
// a network namespace of its own (its node address on a veth "wire"), real busybox httpd pods,
// real kubectl, and curl from inside the namespace with --resolve and the Secret's CA.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../src/core/exec.js';
import { startAgentCluster, type TestCluster, until } from './helpers/cluster.js';
import { alive } from './helpers/process.js';
import { isRoot } from './helpers/sandbox.js';

const nodeIP = '192.168.78.1';

describe('Ingress controller on the engine', { skip: !isRoot }, () => {
  let c: TestCluster;
  let dir: string;
  before(async () => {
    // Two helper processes serve every connection below, whatever the CPU count.
    c = await startAgentCluster(undefined, {
      nodeIP,
      args: ['--bind-address', '0.0.0.0', '--ingress-helpers', '2'],
    });
    dir = c.box.dir;
    await certificate('ca1', 'site1');
    await certificate('ca2', 'site2');
    await kubectl([
      'create',
      'secret',
      'tls',
      'site',
      '--cert',
      join(dir, 'site1.crt'),
      '--key',
      join(dir, 'site1.key'),
    ]);
    for (const name of ['alpha', 'beta']) {
      await apply(deployment(name));
      await apply(service(name, { app: name }));
    }
    // A Service whose selector matches no pod: never a ready endpoint.
    await apply(service('idle', { app: 'nobody' }));
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'site' },
      spec: {
        tls: [{ hosts: ['a.test', 'b.test'], secretName: 'site' }],
        rules: [
          {
            host: 'a.test',
            http: {
              paths: [
                path('/', 'Prefix', 'alpha', { number: 80 }),
                path('/beta', 'Prefix', 'beta', { name: 'http' }),
              ],
            },
          },
          {
            host: 'b.test',
            http: {
              paths: [
                path('/app', 'Prefix', 'beta', { number: 80 }),
                path('/exact', 'Exact', 'alpha', { number: 80 }),
                path('/idle', 'Prefix', 'idle', { number: 80 }),
                path('/ws', 'Prefix', 'echo', { number: 80 }),
              ],
            },
          },
        ],
      },
    });
    await until(
      'alpha and beta running',
      async () => {
        const pods = (await json(['get', 'pods'])).items as { status: { phase: string } }[];
        return pods.length === 2 && pods.every((p) => p.status.phase === 'Running');
      },
      90_000,
    );
  });
  after(() => c.box.cleanup());

  const kubectl = (args: string[], input?: string) => c.ok(args, input);
  const json = (args: string[]) => c.json(args);
  const apply = (obj: unknown) => c.apply(obj);

  /** A CA `ca` and a certificate `name` it signs for a.test and b.test (PEM files in the sandbox). */
  async function certificate(ca: string, name: string) {
    const f = (n: string) => join(dir, n);
    writeFileSync(f(`${name}.ext`), 'subjectAltName=DNS:a.test,DNS:b.test\n');
    for (const args of [
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${ca}.key`), '-out', f(`${ca}.crt`)],
      ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)],
    ])
      await run('openssl', [...args, '-subj', `/CN=${args.includes('-x509') ? ca : name}`, '-days', '1']);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${ca}.crt`),
      '-CAkey',
      f(`${ca}.key`),
      '-CAcreateserial',
      '-out',
      f(`${name}.crt`),
      '-days',
      '1',
      '-extfile',
      f(`${name}.ext`),
    ]);
  }

  function path(p: string, pathType: string, svc: string, port: { number: number } | { name: string }) {
    return { path: p, pathType, backend: { service: { name: svc, port } } };
  }
  function deployment(name: string) {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: 'httpd',
                image: 'busybox:local',
                imagePullPolicy: 'IfNotPresent',
                // Every path the tests ask for answers with the Deployment's name, so a test
                // sees which backend it reached.
                command: [
                  'sh',
                  '-c',
                  `mkdir -p /www/beta/x /www/app && for f in index.html beta/x/index.html app/index.html betamax exact; do echo ${name} > /www/$f; done; exec httpd -f -p 8080 -h /www`,
                ],
                ports: [{ name: 'web', containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    };
  }
  function service(name: string, selector: Record<string, string>) {
    return {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    };
  }

  /** curl from the node's namespace to the Ingress, with `host` resolving to the node. */
  const curl = (url: string, extra: string[] = []) => {
    const host = new URL(url).hostname;
    return c.box.exec(
      'curl',
      [
        '-sS',
        '-m',
        '20',
        '--resolve',
        `${host}:443:${nodeIP}`,
        '--resolve',
        `${host}:80:${nodeIP}`,
        ...extra,
        url,
      ],
      { check: false },
    );
  };
  const httpsBody = async (url: string, ca = 'ca1') => {
    const r = await curl(url, ['--cacert', join(dir, `${ca}.crt`)]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const status = async (url: string) => {
    const r = await curl(url, ['-k', '-o', '/dev/null', '-w', '%{http_code}']);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  test('the server keeps the default IngressClass berth', async () => {
    const cls = await json(['get', 'ingressclass', 'berth']);
    assert.equal(cls.spec.controller, 'berth.dev/ingress');
    assert.equal(cls.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
  });

  test('two hosts over TLS route by host and path to their Services', async () => {
    // Both Deployments' pods are ready (their endpoints too) once each answers through the Ingress.
    await until(
      'alpha and beta answer through the Ingress',
      async () =>
        (await httpsBody('https://a.test/')) === 'alpha' &&
        (await httpsBody('https://a.test/beta/x/')) === 'beta',
    );
    assert.equal(await httpsBody('https://a.test/betamax'), 'alpha');
    assert.equal(await httpsBody('https://b.test/app/'), 'beta');
    assert.equal(await httpsBody('https://b.test/exact'), 'alpha');
    // Plain HTTP routes the same way.
    const plain = await curl('http://a.test/beta/x/');
    assert.equal(plain.stdout.trim(), 'beta', plain.stderr);
  });

  test('404 for unknown hosts and paths, 503 for a Service without ready endpoints', async () => {
    await until('b.test routed', async () => (await status('https://b.test/app/')) === '200');
    assert.equal(await status('https://c.test/'), '404');
    assert.equal(await status('https://b.test/other'), '404');
    assert.equal(await status('https://b.test/exact/more'), '404');
    assert.equal(await status('https://b.test/idle'), '503');
  });

  test('HTTP/2 to clients over TLS', async () => {
    const r = await curl('https://a.test/', [
      '--http2',
      '--cacert',
      join(dir, 'ca1.crt'),
      '-o',
      '/dev/null',
      '-w',
      '%{http_version}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '2');
  });

  test('status.loadBalancer lists the node address', async () => {
    await until(
      'Ingress status',
      async () => (await json(['get', 'ingress', 'site'])).status?.loadBalancer?.ingress?.[0]?.ip === nodeIP,
      30_000,
    );
  });

  test('an Ingress naming a missing Service or Secret gets events and the others keep serving', async () => {
    await apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'broken' },
      spec: {
        tls: [{ hosts: ['broken.test'], secretName: 'nowhere' }],
        rules: [{ host: 'broken.test', http: { paths: [path('/', 'Prefix', 'ghost', { number: 80 })] } }],
      },
    });
    const reasons = async () =>
      new Set(
        (
          (await json(['get', 'events', '--field-selector', 'involvedObject.name=broken'])).items as {
            reason: string;
            message: string;
          }[]
        ).map((e) => `${e.reason}: ${e.message}`),
      );
    await until('events about the broken Ingress', async () => {
      const r = [...(await reasons())].join('\n');
      return (
        /ServiceNotFound: Service default\/ghost not found/.test(r) &&
        /SecretNotUsable: Secret default\/nowhere not found/.test(r)
      );
    });
    assert.equal(await status('https://broken.test/'), '503');
    assert.equal(await httpsBody('https://a.test/'), 'alpha');
    await kubectl(['delete', 'ingress', 'broken']);
  });

  test('a WebSocket is upgraded through the Ingress to an endpoint', async () => {
    // A selector-less Service whose one endpoint is a node WebSocket echo server in the
    // node's namespace (busybox has no WebSocket server).
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { ports: [{ name: 'ws', port: 80, targetPort: 9000 }] },
    });
    await apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'echo-1',
        labels: { 'kubernetes.io/service-name': 'echo', 'endpointslice.kubernetes.io/managed-by': 'test' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'ws', port: 9000, protocol: 'TCP' }],
      endpoints: [{ addresses: [nodeIP], conditions: { ready: true } }],
    });
    const script = join(dir, 'ws-echo.mjs');
    const wsModule = join(process.cwd(), 'node_modules', 'ws', 'index.js');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import WebSocket from '${wsModule}';
const { WebSocketServer } = WebSocket;
const server = new WebSocketServer({ host: '${nodeIP}', port: 9000 });
server.on('connection', (s, req) => s.on('message', (m) => s.send('echo ' + m + ' via ' + req.headers['x-forwarded-proto'])));
await new Promise((r) => server.on('listening', r));
const ws = new WebSocket('wss://${nodeIP}/ws', { headers: { host: 'b.test' }, servername: 'b.test', ca: readFileSync('${join(dir, 'ca1.crt')}') });
ws.on('open', () => ws.send('hello'));
ws.on('message', (m) => { console.log(String(m)); ws.close(); server.close(); });
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('no echo'); process.exit(1); }, 15000).unref();
`,
    );
    await until('the echo Service routed', async () => (await status('https://b.test/ws')) !== '503');
    const r = await c.box.exec('node', [script], { check: false, timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'echo hello via https');
  });

  test('a Secret update switches the certificate', async () => {
    const updated = await kubectl([
      'create',
      'secret',
      'tls',
      'site',
      '--cert',
      join(dir, 'site2.crt'),
      '--key',
      join(dir, 'site2.key'),
      '--dry-run=client',
      '-o',
      'json',
    ]);
    await kubectl(['apply', '-f', '-'], updated);
    await until('the new certificate served', async () => {
      const r = await curl('https://a.test/', ['--cacert', join(dir, 'ca2.crt')]);
      return r.code === 0 && r.stdout.trim() === 'alpha';
    });
    // The old CA no longer verifies it.
    const old = await curl('https://a.test/', ['--cacert', join(dir, 'ca1.crt')]);
    assert.notEqual(old.code, 0);
  });

  test('a helper process killed is replaced; they end with the server, even one killed by SIGKILL', async () => {
    const [victim, other] = helpers();
    assert.ok(victim && other, 'two helper processes under the server');
    process.kill(victim, 'SIGKILL');
    await until('a new helper beside the other', async () => {
      const now = helpers();
      return now.length === 2 && now.includes(other) && !now.includes(victim);
    });
    const now = helpers();
    for (let i = 0; i < 4; i++) {
      const r = await curl('http://a.test/');
      assert.equal(r.stdout.trim(), 'alpha', r.stderr);
    }
    await c.stop('SIGKILL');
    await until('the helpers gone with the server', async () => now.every((p) => !alive(p)));
  });

  /** The server's helper processes: its children running ingress-helper.js. */
  function helpers(): number[] {
    const procs = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
    const server = procs.find((p) => procFile(p, 'cmdline').split('\0').includes(c.dataDir));
    assert.ok(server, 'the server process');
    return procs
      .filter((p) => {
        const stat = procFile(p, 'stat');
        const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
        return ppid === server && procFile(p, 'cmdline').includes('ingress-helper.js');
      })
      .map(Number);
  }
});

/** A file of /proc/PID, or '' for a process gone meanwhile. */
function procFile(pid: string, name: string): string {
  try {
    return readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH')
      return '';
    throw e;
  }
}
