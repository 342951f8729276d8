// The plain listener's fallback to net.Server (a Node without the libuv internals raw-tcp.ts
// uses): forced here, it proxies requests as the raw listener does, kept alive and half-open.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { logLevel, setLogLevel, setLogSink } from '../../core/log.js';
import { RoundRobin } from './backends.js';
import { selfSignedCertificate } from './certs.js';
import { setPlainFallbackForTests } from './plain-listener.js';
import { type IngressProxy, listenIngress } from './proxy.js';
import { rawTcpMissing } from './raw-tcp.js';
import { routeTable } from './routes.js';

let backend: http.Server;
let proxy: IngressProxy;
/** What the listener logged while starting. */
const logged: string[] = [];

before(async () => {
  backend = http.createServer((req, res) => res.end(`${req.headers.host} ${req.url}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const port = (backend.address() as AddressInfo).port;
  const { table } = routeTable([
    {
      metadata: { name: 'i', namespace: 'default', uid: 'i', resourceVersion: '1' },
      spec: {
        rules: [
          {
            host: 'app',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'app', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    },
  ]);
  setPlainFallbackForTests(true);
  const level = logLevel();
  setLogLevel('debug');
  const sink = setLogSink((line) => logged.push(line));
  const cert = selfSignedCertificate('fallback.test');
  proxy = await listenIngress({
    address: '127.0.0.1',
    httpPort: 0,
    httpsPort: 0,
    defaultCertificate: cert,
    router: {
      match: (h, u) => table.match(h, u),
      pool: () => new RoundRobin([{ host: '127.0.0.1', port }]),
      contextFor: () => tls.createSecureContext(cert),
    },
  });
  setLogSink(sink);
  setLogLevel(level);
  setPlainFallbackForTests(false);
});

after(async () => {
  await proxy.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

test('this Node has every internal the raw handles need', () => {
  assert.equal(rawTcpMissing, undefined);
});

test('the fallback says once, at debug level, why', () => {
  const lines = logged.filter((l) => l.includes('plain HTTP on net.Server'));
  assert.equal(lines.length, 1, logged.join('\n'));
  assert.match(lines[0] ?? '', /"missing":"forced"/);
});

test('through net.Server: requests are proxied on a kept-alive connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  agent.on('free', (s) => ports.add(s.localPort ?? 0));
  for (let i = 0; i < 3; i++) {
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get(
          { host: '127.0.0.1', port: proxy.httpPort, path: `/n${i}`, headers: { host: 'app' }, agent },
          (res) => {
            assert.equal(res.statusCode, 200);
            let b = '';
            res.on('data', (c) => {
              b += c;
            });
            res.on('end', () => resolve(b));
          },
        )
        .on('error', reject);
    });
    assert.equal(body, `app /n${i}`);
  }
  agent.destroy();
  assert.equal(ports.size, 1);
});

test('through net.Server: a client that ends its side first still gets the answer', async () => {
  const s = net.connect({ port: proxy.httpPort, host: '127.0.0.1', allowHalfOpen: true });
  s.setEncoding('latin1');
  let text = '';
  s.on('data', (d: string) => {
    text += d;
  });
  s.end('GET /half HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n');
  await once(s, 'end');
  s.destroy();
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.ok(text.endsWith('app /half'), text);
});
