// The proxy against real backends on the loopback: forwarding headers, retries, its own
// answers, TLS by SNI, HTTP/2 and upgrades. The cluster side (informers, pods) is in
// test/ingress.test.ts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import type { KubeObject } from '../client/kube-client.js';
import { type Endpoint, RoundRobin } from './backends.js';
import { CertStore, selfSignedCertificate, tlsOptions } from './certs.js';
import { type IngressProxy, listenIngress, upstreamHeaders } from './proxy.js';
import { routeTable } from './routes.js';

const rule = (host: string, service: string, path = '/') => ({
  host,
  http: {
    paths: [{ path, pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }],
  },
});

const tlsSecret = (name: string, c: { cert: string; key: string }): KubeObject => ({
  metadata: { name, namespace: 'default', uid: name, resourceVersion: '1' },
  type: 'kubernetes.io/tls',
  data: {
    'tls.crt': Buffer.from(c.cert).toString('base64'),
    'tls.key': Buffer.from(c.key).toString('base64'),
  },
});

test('upstream headers: hop-by-hop ones and those the Connection header names are dropped', () => {
  const facts = { host: 'a', client: '10.0.0.1', scheme: 'http', port: 80 } as const;
  const out = upstreamHeaders(
    {
      connection: 'Keep-Alive, X-Hop , x-other',
      'x-hop': '1',
      'x-other': '2',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-end': '3',
      cookie: 'c=1',
    },
    facts,
  );
  assert.deepEqual(Object.keys(out).sort(), [
    'cookie',
    'host',
    'x-end',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-port',
    'x-forwarded-proto',
    'x-real-ip',
  ]);
  const plain = upstreamHeaders({ connection: 'close', close: 'x', 'x-end': '3' }, facts);
  assert.equal(plain['x-end'], '3');
  assert.equal(plain.connection, undefined);
  assert.equal(plain.close, undefined, 'a field the connection option names is dropped');
});

/** `n` bytes that differ with `seed` and along the way (a copy overwritten by another read shows). */
function pattern(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 12) + seed * 101) & 0xff;
  return b;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Whether the loopback connection between two ports is in TIME_WAIT on either side (/proc/net/tcp). */
function timeWaits(backendPort: number, proxyPort: number): { backendSide: boolean; proxySide: boolean } {
  const port = (a: string) => Number.parseInt(a.split(':')[1] ?? '', 16);
  let backendSide = false;
  let proxySide = false;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (state !== '06' || !local || !remote) continue;
    if (port(local) === backendPort && port(remote) === proxyPort) backendSide = true;
    if (port(local) === proxyPort && port(remote) === backendPort) proxySide = true;
  }
  return { backendSide, proxySide };
}

describe('ingress proxy', () => {
  let backend: http.Server;
  let backendPort: number;
  let closedPort: number;
  let proxy: IngressProxy;
  /** A backend that keeps connections alive, and how many it was opened. */
  let kept: http.Server;
  let keptConnections = 0;
  /**
   * A backend that answers `Connection: close` and closes only when the test says so, half-open
   * meanwhile, so the order of the two FINs shows; its connections as they come.
   */
  let closer: net.Server;
  const closerSockets: net.Socket[] = [];
  let chunky: net.Server;
  /** Answers `/SEED` with BIG patterned bytes. */
  let big: http.Server;
  /** Reads a request body only once `sinkGo` is called, and answers its hash. */
  let sink: http.Server;
  let sinkGo: () => void = () => {};
  let sinkWaits: Promise<void> = Promise.resolve();
  const BIG = 16 * 1024 * 1024;
  const pools = new Map<string, Endpoint[]>();
  const certA = selfSignedCertificate('a.test');
  const certDefault = selfSignedCertificate('default.test');

  before(async () => {
    backend = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        // Connection: close, as busybox httpd answers: the proxy must not pass it on.
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        res.end(JSON.stringify({ url: req.url, headers: req.headers, body }));
      });
    });
    backend.on('upgrade', (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.pipe(socket);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    backendPort = (backend.address() as AddressInfo).port;
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));

    kept = http.createServer((_req, res) => res.end('kept'));
    kept.on('connection', () => keptConnections++);
    await new Promise<void>((r) => kept.listen(0, '127.0.0.1', r));
    closer = net.createServer({ allowHalfOpen: true }, (s) => {
      closerSockets.push(s);
      let head = '';
      s.on('data', (d) => {
        head += d;
        if (head.includes('\r\n\r\n'))
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      });
    });
    await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
    // Chunked answers on a kept connection; each request's first line is echoed in the body.
    chunky = net.createServer((s) => {
      let held = '';
      s.on('data', (d) => {
        held += d.toString('latin1');
        for (let end = held.indexOf('\r\n\r\n'); end >= 0; end = held.indexOf('\r\n\r\n')) {
          const line = held.slice(0, held.indexOf('\r\n'));
          held = held.slice(end + 4);
          s.write(
            `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${line.length.toString(16)}\r\n${line}\r\n0\r\n\r\n`,
          );
        }
      });
    });
    await new Promise<void>((r) => chunky.listen(0, '127.0.0.1', r));
    const at = (s: net.Server) => ({ host: '127.0.0.1', port: (s.address() as AddressInfo).port });
    big = http.createServer((req, res) => {
      res.writeHead(200, { 'content-length': BIG });
      res.end(pattern(Number(req.url?.slice(1)), BIG));
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    sink = http.createServer((req, res) => {
      req.pause();
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => res.end(sha(Buffer.concat(parts))));
      if (req.url === '/slow') void sinkWaits.then(() => req.resume());
      else req.resume();
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    pools.set('big', [at(big)]);
    pools.set('sink', [at(sink)]);
    pools.set('chunky', [at(chunky)]);
    pools.set('kept', [at(kept)]);
    pools.set('closer', [at(closer)]);

    const live = { host: '127.0.0.1', port: backendPort };
    pools.set('app', [live]);
    pools.set('flaky', [{ host: '127.0.0.1', port: closedPort }, live]);
    pools.set('empty', []);
    const ingress: KubeObject = {
      metadata: {
        name: 'i',
        namespace: 'default',
        uid: 'i',
        annotations: { 'ingress.berth.dev/proxy-body-size': '16' },
      },
      spec: {
        rules: [
          rule('app', 'app'),
          rule('flaky', 'flaky'),
          rule('empty', 'empty'),
          rule('a.test', 'app'),
          rule('kept', 'kept'),
          rule('closer', 'closer'),
          rule('chunky', 'chunky'),
        ],
      },
    };
    const secure: KubeObject = {
      metadata: {
        name: 's',
        namespace: 'default',
        uid: 's',
        annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'true' },
      },
      spec: { tls: [{ hosts: ['secure.test'], secretName: 'a' }], rules: [rule('secure.test', 'app')] },
    };
    // Large bodies both ways, past the other Ingress's body limit.
    const large: KubeObject = {
      metadata: { name: 'large', namespace: 'default', uid: 'large' },
      spec: { rules: [rule('big', 'big'), rule('sink', 'sink')] },
    };
    const { table } = routeTable([ingress, secure, large]);
    const certs = new CertStore(tls.createSecureContext({ ...tlsOptions, ...certDefault }));
    const problems = certs.update([ingress, secure], (k) =>
      k === 'default/a' ? tlsSecret('a', certA) : undefined,
    );
    assert.deepEqual(problems, []);
    proxy = await listenIngress({
      address: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      defaultCertificate: certDefault,
      router: {
        match: (h, u) => table.match(h, u),
        pool: (b) => new RoundRobin(pools.get(b.service) ?? []),
        contextFor: (n) => certs.contextFor(n),
      },
    });
  });
  after(async () => {
    await proxy.close();
    await new Promise<void>((r) => backend.close(() => r()));
    kept.closeAllConnections();
    await new Promise<void>((r) => kept.close(() => r()));
    for (const s of closerSockets) s.destroy();
    await new Promise<void>((r) => closer.close(() => r()));
    await new Promise<void>((r) => chunky.close(() => r()));
    big.closeAllConnections();
    await new Promise<void>((r) => big.close(() => r()));
    sink.closeAllConnections();
    await new Promise<void>((r) => sink.close(() => r()));
  });

  const get = (
    host: string,
    path = '/',
    init: {
      method?: string;
      body?: string | Buffer;
      agent?: http.Agent;
      headers?: http.OutgoingHttpHeaders;
    } = {},
  ) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: proxy.httpPort,
          path,
          method: init.method ?? 'GET',
          headers: { host, 'x-forwarded-for': '6.6.6.6', ...init.headers },
          ...(init.agent ? { agent: init.agent } : {}),
        },
        (res) => {
          let body = '';
          res.on('data', (c) => {
            body += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });

  test('passes the request on with the Host and X-Forwarded-* headers set, not appended', async () => {
    const r = await get('app:8080', '/x?y=1');
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body);
    assert.equal(seen.url, '/x?y=1');
    assert.equal(seen.headers.host, 'app:8080');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'app:8080');
    assert.equal(seen.headers['x-forwarded-port'], String(proxy.httpPort));
    assert.equal(
      r.headers.connection,
      'keep-alive',
      'the backend closing is not the client connection closing',
    );
  });

  test('keeps the client connection alive across requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    agent.on('free', (s) => ports.add(s.localPort ?? 0));
    for (let i = 0; i < 3; i++) assert.equal((await get('app', '/', { agent })).status, 200);
    agent.destroy();
    assert.equal(ports.size, 1);
  });

  test('a backend connection is kept across client connections that each send Connection: close', async () => {
    // Connection is hop-by-hop: a client closing its connection is no reason to close the pod's.
    const before = keptConnections;
    for (let i = 0; i < 3; i++) {
      const r = await get('kept', '/', { agent: new http.Agent(), headers: { connection: 'close' } });
      assert.equal(r.body, 'kept');
      assert.equal(r.headers.connection, 'close');
    }
    assert.equal(keptConnections - before, 1);
  });

  test('a backend that answers Connection: close closes first: the TIME_WAIT is its, not the node', async () => {
    const r = await get('closer');
    assert.equal(r.body, 'ok');
    const s = closerSockets.at(-1);
    assert.ok(s);
    const [backendPort, proxyPort] = [s.localPort ?? 0, s.remotePort ?? 0];
    // The client has its whole answer; only now does the backend close its side.
    s.end();
    await once(s, 'close');
    // The side that sent the first FIN is the one left in TIME_WAIT.
    assert.deepEqual(timeWaits(backendPort, proxyPort), { backendSide: true, proxySide: false });
  });

  test('a client that sends Connection: close gets the whole answer, then the proxy closes', async () => {
    const s = net.connect(proxy.httpPort, '127.0.0.1');
    s.setEncoding('utf8');
    let text = '';
    s.on('data', (d) => {
      text += d;
    });
    s.write('GET /whole HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n');
    // The client does not close: the end it sees is the proxy's FIN.
    await once(s, 'end');
    s.destroy();
    const [head = '', ...rest] = text.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, /\r\nconnection: close/i);
    assert.match(head, /\r\ntransfer-encoding: chunked/i);
    // The body's JSON, then the last chunk: the answer is whole.
    const body = rest.join('\r\n\r\n');
    assert.match(body, /"url":"\/whole"/);
    assert.ok(body.endsWith('\r\n0\r\n\r\n'), body);
  });

  test('a refused endpoint is skipped for the next one', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get('flaky')).status, 200);
  });

  test('404 for unknown hosts and paths, 503 without endpoints, 413 past the body limit', async () => {
    assert.equal((await get('nobody')).status, 404);
    assert.equal((await get('empty')).status, 503);
    assert.equal((await get('app', '/', { method: 'POST', body: 'x'.repeat(100) })).status, 413);
    const small = await get('app', '/', { method: 'POST', body: 'hello' });
    assert.equal(JSON.parse(small.body).body, 'hello');
  });

  test('plain HTTP to a TLS host with ssl-redirect is sent to HTTPS', async () => {
    const r = await get('secure.test', '/p?q=1');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://secure.test:${proxy.httpsPort}/p?q=1`);
  });

  const handshake = (servername: string | undefined) =>
    new Promise<{ cn: string; alpn: string | false | null }>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: proxy.httpsPort,
          ...(servername ? { servername } : {}),
          rejectUnauthorized: false,
          ALPNProtocols: ['h2', 'http/1.1'],
        },
        () => {
          const cn = String(s.getPeerCertificate().subject.CN);
          const alpn = s.alpnProtocol;
          s.end();
          resolve({ cn, alpn });
        },
      );
      s.on('error', reject);
    });

  test('TLS: the Secret of the name asked for by SNI, the default certificate otherwise; ALPN offers h2', async () => {
    assert.deepEqual(await handshake('secure.test'), { cn: 'a.test', alpn: 'h2' });
    assert.equal((await handshake('unknown.test')).cn, 'default.test');
    assert.equal((await handshake(undefined)).cn, 'default.test');
  });

  test('HTTP/2 over TLS reaches the backend over HTTP/1.1', async () => {
    const session = http2.connect(`https://127.0.0.1:${proxy.httpsPort}`, {
      servername: 'secure.test',
      rejectUnauthorized: false,
    });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ':authority': 'secure.test' });
        let status = 0;
        let body = '';
        req.on('response', (h) => {
          status = Number(h[':status']);
        });
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => resolve({ status, body }));
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200);
      const seen = JSON.parse(body);
      assert.equal(seen.headers.host, 'secure.test');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      // A request body over HTTP/2 (no Content-Length) reaches the backend whole.
      const posted = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/up', ':authority': 'secure.test' });
        let text = '';
        req.on('data', (c) => {
          text += c;
        });
        req.on('end', () => resolve(text));
        req.on('error', reject);
        req.end('h2-body');
      });
      assert.equal(JSON.parse(posted).body, 'h2-body');
    } finally {
      session.close();
    }
  });

  for (const scheme of ['http', 'https'] as const)
    test(`an upgrade over ${scheme} is passed on and bytes flow both ways`, async () => {
      const echoed = await new Promise<string>((resolve, reject) => {
        const req = (scheme === 'http' ? http : https).request({
          host: '127.0.0.1',
          port: scheme === 'http' ? proxy.httpPort : proxy.httpsPort,
          path: '/ws',
          headers: { host: 'app', connection: 'Upgrade', upgrade: 'echo' },
          rejectUnauthorized: false,
        });
        req.on('upgrade', (res, socket) => {
          assert.equal(res.statusCode, 101);
          socket.once('data', (d) => {
            socket.destroy();
            resolve(d.toString());
          });
          socket.write('ping');
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(echoed, 'ping');
    });

  /** Writes `text` (in pieces, when a list) to the plain port; everything read until the proxy closes. */
  const raw = (text: string | string[]) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(proxy.httpPort, '127.0.0.1');
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d) => {
        out += d;
      });
      s.on('end', () => {
        s.destroy();
        resolve(out);
      });
      s.on('error', reject);
      for (const t of Array.isArray(text) ? text : [text]) s.write(t, 'latin1');
    });
  const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => Number(m[1]));

  test('request smuggling shapes get 400 and the connection closes; nothing reaches the backend', async () => {
    const before = closerSockets.length;
    for (const head of [
      'POST / HTTP/1.1\r\nHost: closer\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: closer\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: closer\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd',
      'POST / HTTP/1.1\r\nHost: closer\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: closer\r\nX: 1\r\n folded\r\n\r\n',
      'GET / HTTP/1.1\nHost: closer\n\n',
    ]) {
      const out = await raw(head);
      assert.deepEqual(statuses(out), [400], JSON.stringify(head));
      assert.match(out, /\r\nconnection: close\r\n/);
    }
    assert.equal(closerSockets.length, before);
  });

  test('a malformed chunked body is refused with 400; a chunked body past the limit with 413', async () => {
    const bad = await raw(
      'POST / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n',
    );
    assert.deepEqual(statuses(bad), [400]);
    const big = await raw(
      `POST / HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n${'10\r\n0123456789abcdef\r\n'.repeat(3)}0\r\n\r\n`,
    );
    assert.deepEqual(statuses(big), [413]);
  });

  test('a chunked request body reaches the backend whole, sent byte by byte', async () => {
    const body = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const out = await raw([
      'POST /c HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      ...body.split(''),
    ]);
    assert.deepEqual(statuses(out), [200]);
    assert.equal(JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)).body, 'hello world');
  });

  test('a head past 16 KiB is refused with 431', async () => {
    const out = await raw(`GET / HTTP/1.1\r\nHost: app\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.deepEqual(statuses(out), [431]);
  });

  test('pipelined requests are answered in order, each routed by its own Host', async () => {
    const out = await raw(
      'GET /1 HTTP/1.1\r\nHost: chunky\r\n\r\nGET /2 HTTP/1.1\r\nHost: nobody\r\n\r\nGET /3 HTTP/1.1\r\nHost: chunky\r\n\r\nGET /4 HTTP/1.1\r\nHost: chunky\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(statuses(out), [200, 404, 200, 200]);
    const lines = [...out.matchAll(/GET (\/\d) HTTP\/1\.1/g)].map((m) => m[1]);
    assert.deepEqual(lines, ['/1', '/3', '/4']);
    // Thousands of requests the proxy answers itself, in one write, do not overflow its stack.
    const many = await raw(
      `${'GET / HTTP/1.1\r\nHost: nobody\r\n\r\n'.repeat(3000)}GET / HTTP/1.1\r\nHost: nobody\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(statuses(many).length, 3001);
  });

  test('a head that trickles in (slowloris) holds no one else up', async () => {
    const slow = net.connect(proxy.httpPort, '127.0.0.1');
    slow.write('GET / HTTP/1.1\r\nHo');
    try {
      assert.equal((await get('app')).status, 200);
      slow.write('st: app\r\nConnection: close\r\n\r\n');
      let out = '';
      slow.setEncoding('latin1');
      slow.on('data', (d) => {
        out += d;
      });
      await once(slow, 'end');
      assert.deepEqual(statuses(out), [200]);
    } finally {
      slow.destroy();
    }
  });

  test('HTTP/1.0: a chunked answer reaches the client without chunks, then the connection closes', async () => {
    const out = await raw('GET /old HTTP/1.0\r\nHost: chunky\r\n\r\n');
    const [head, body] = out.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 200 OK/);
    assert.doesNotMatch(head ?? '', /transfer-encoding/i);
    assert.match(head ?? '', /\r\nconnection: close/);
    assert.equal(body, 'GET /old HTTP/1.1');
    // Keep-alive asked for by an HTTP/1.0 client with a length the proxy can keep.
    const kept = await raw(
      'GET / HTTP/1.0\r\nHost: kept\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\nHost: kept\r\n\r\n',
    );
    assert.deepEqual(statuses(kept), [200, 200]);
    assert.match(kept, /connection: keep-alive[\s\S]*connection: close/);
  });

  test('Expect: 100-continue gets a 100 before the body is sent; another expectation 417', async () => {
    const out = await raw([
      'POST /e HTTP/1.1\r\nHost: app\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
      'hello',
    ]);
    assert.deepEqual(statuses(out), [100, 200]);
    assert.equal(JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)).body, 'hello');
    assert.deepEqual(statuses(await raw('GET / HTTP/1.1\r\nHost: app\r\nExpect: magic\r\n\r\n')), [417]);
  });

  test('a 2 MiB body over HTTPS/1.1 reaches the backend whole, and its answer the client', async () => {
    const body = 'b'.repeat(2 * 1024 * 1024);
    const seen = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: proxy.httpsPort,
          servername: 'secure.test',
          path: '/big',
          method: 'POST',
          headers: { host: 'secure.test', 'content-length': body.length },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(seen.status, 200);
    const echoed = JSON.parse(seen.text);
    assert.equal(echoed.body.length, body.length);
    assert.equal(echoed.headers['x-forwarded-proto'], 'https');
  });

  test('HEAD answers carry no body: the next answer on the connection is read whole', async () => {
    const out = await raw(
      'HEAD / HTTP/1.1\r\nHost: kept\r\n\r\nHEAD / HTTP/1.1\r\nHost: chunky\r\n\r\nGET / HTTP/1.1\r\nHost: kept\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(statuses(out), [200, 200, 200]);
    assert.ok(out.endsWith('\r\n\r\nkept'), out);
  });

  test('bytes held back for a slow reader either way are not overwritten by other connections', async () => {
    // A client that stops reading: the answer's bytes wait in the proxy while other answers
    // pass through the same read buffer.
    const slow = net.connect(proxy.httpPort, '127.0.0.1');
    const got: Buffer[] = [];
    slow.on('data', (d: Buffer) => got.push(d));
    slow.write('GET /1 HTTP/1.1\r\nHost: big\r\nConnection: close\r\n\r\n');
    await once(slow, 'data');
    slow.pause();
    // An upload the endpoint does not read yet: its bytes wait in the proxy while other
    // requests are read into the same buffer.
    sinkWaits = new Promise((r) => {
      sinkGo = r;
    });
    const upload = pattern(3, BIG);
    const uploaded = get('sink', '/slow', { method: 'POST', body: upload });
    for (let i = 0; i < 4; i++) {
      const other = await get('big', `/${10 + i}`);
      assert.equal(other.status, 200);
      assert.equal((await get('sink', '/now', { method: 'POST', body: `x${i}`.repeat(5000) })).status, 200);
    }
    sinkGo();
    slow.resume();
    await once(slow, 'end');
    slow.destroy();
    const answer = Buffer.concat(got);
    const body = answer.subarray(answer.indexOf('\r\n\r\n') + 4);
    assert.equal(body.length, BIG);
    assert.equal(sha(body), sha(pattern(1, BIG)));
    const up = await uploaded;
    assert.equal(up.status, 200);
    assert.equal(up.body, sha(upload));
  });
});
