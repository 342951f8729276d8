// The listeners' fallbacks on a Node without the libuv internals raw-tcp.ts and raw-tls.ts use:
// net.Server for plain HTTP and node:http2's server for TLS, forced here, proxy requests as
// the raw listeners do (kept alive and half-open; HTTPS/1.1 and HTTP/2).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { logLevel, setLogLevel, setLogSink } from '../../core/log.js';
import { RoundRobin } from './backends.js';
import { selfSignedCertificate } from './certs.js';
import { setPlainFallbackForTests } from './plain-listener.js';
import { type IngressProxy, listenIngress, setTlsFallbackForTests } from './proxy.js';
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
  setTlsFallbackForTests(true);
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
  setTlsFallbackForTests(false);
});

after(async () => {
  await proxy.close();
  backend.closeAllConnections();
  await new Promise<void>((r) => backend.close(() => r()));
});

test('this Node has every internal the raw handles need', () => {
  assert.equal(rawTcpMissing, undefined);
});

test('each fallback says, at debug level, why', () => {
  for (const what of ['plain HTTP on net.Server', "TLS on node:http2's server"]) {
    const lines = logged.filter((l) => l.includes(what));
    assert.equal(lines.length, 1, logged.join('\n'));
    assert.match(lines[0] ?? '', /"missing":"forced"/);
  }
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

test("through node:http2's server: HTTPS/1.1 and HTTP/2 requests are proxied", async () => {
  const one = await new Promise<string>((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: proxy.httpsPort,
          path: '/one',
          headers: { host: 'app' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          let b = '';
          res.on('data', (d) => {
            b += d;
          });
          res.on('end', () => resolve(b));
        },
      )
      .on('error', reject);
  });
  assert.equal(one, 'app /one');
  const session = http2.connect(`https://127.0.0.1:${proxy.httpsPort}`, { rejectUnauthorized: false });
  try {
    const two = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/two', ':authority': 'app' });
      let b = '';
      req.setEncoding('utf8');
      req.on('data', (d) => {
        b += d;
      });
      req.on('end', () => resolve(b));
      req.on('error', reject);
    });
    assert.equal(two, 'app /two');
  } finally {
    session.close();
  }
});
